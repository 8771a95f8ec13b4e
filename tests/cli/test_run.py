"""`bayou run`: function names as the official CLI accepts them, identities, arguments."""

from __future__ import annotations

import pytest

from bayou.cli.connection import CliError
from bayou.cli.run import fake_identity, parse_function_name, parse_json_object


@pytest.mark.parametrize(
    ("given", "path"),
    [
        ("messages:send", "messages:send"),
        ("messages", "messages:default"),
        ("api.messages.send", "messages:send"),
        ("internal.admin.users.purge", "admin/users:purge"),
        ("convex/messages.py:send", "messages:send"),
        ("messages.ts:send", "messages:send"),
        ("admin/users:get", "admin/users:get"),
    ],
)
def test_function_names(given: str, path: str) -> None:
    assert parse_function_name(given) == path


def test_too_short_reference_is_refused() -> None:
    with pytest.raises(CliError):
        parse_function_name("api.messages")


def test_identity_is_completed_like_the_official_cli() -> None:
    assert fake_identity('{"subject": "u1"}') == {
        "subject": "u1",
        "issuer": "https://convex.test",
        "tokenIdentifier": "https://convex.test|u1",
    }
    # without a subject, a hash of the identity (the official CLI's 32-bit string hash)
    assert fake_identity('{"name": "Ada"}')["subject"] == "1947304225"


def test_arguments_must_be_a_json_object() -> None:
    assert parse_json_object('{"a": 1}', "arguments") == {"a": 1}
    with pytest.raises(CliError) as e:
        parse_json_object("[1]", "arguments")
    assert "must be a JSON object" in e.value.message
    with pytest.raises(CliError) as e:
        parse_json_object("{a: 1", "arguments")
    assert "Failed to parse arguments as JSON" in e.value.message
