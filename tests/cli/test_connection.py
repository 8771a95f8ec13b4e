"""Where the Bayou CLI finds the deployment: flags, then the environment, then .env.local."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from bayou.cli.connection import CliError, Connection, read_env_file

URL = "http://127.0.0.1:3210"


def test_environment_wins_over_env_local(tmp_path: Path) -> None:
    (tmp_path / ".env.local").write_text(
        "CONVEX_SELF_HOSTED_URL=http://file:1\nCONVEX_SELF_HOSTED_ADMIN_KEY=from-file\n"
    )
    environ = {"CONVEX_SELF_HOSTED_URL": URL}
    got = Connection.resolve(environ=environ, directory=tmp_path)
    assert got == Connection(URL, "from-file")


def test_flags_win_over_everything(tmp_path: Path) -> None:
    environ = {"CONVEX_SELF_HOSTED_URL": "http://env:1", "CONVEX_SELF_HOSTED_ADMIN_KEY": "env"}
    got = Connection.resolve(URL + "/", "flag", environ=environ, directory=tmp_path)
    assert got == Connection(URL, "flag")


def test_env_local_is_read_before_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"CONVEX_SELF_HOSTED_URL={URL}\nCONVEX_SELF_HOSTED_ADMIN_KEY=a\n"
    )
    (tmp_path / ".env.local").write_text("CONVEX_SELF_HOSTED_ADMIN_KEY=b\n")
    assert Connection.resolve(environ={}, directory=tmp_path) == Connection(URL, "b")


def test_missing_settings_are_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CliError) as e:
        Connection.resolve(environ={"CONVEX_SELF_HOSTED_URL": URL}, directory=tmp_path)
    assert "--admin-key / CONVEX_SELF_HOSTED_ADMIN_KEY" in e.value.message
    assert "bayou admin-key" in e.value.message
    assert "CONVEX_SELF_HOSTED_URL" not in e.value.message.split(":")[0]


def test_url_must_be_http(tmp_path: Path) -> None:
    with pytest.raises(CliError):
        Connection.resolve("localhost:3210", "k", environ={}, directory=tmp_path)


def test_env_file_syntax(tmp_path: Path) -> None:
    file = tmp_path / ".env.local"
    file.write_text(
        "# a comment\n"
        "export A=1\n"
        "B='quoted # not a comment'\n"
        'C="double"\n'
        "D=plain # trailing comment\n"
        "not a setting\n"
    )
    assert read_env_file(file) == {
        "A": "1",
        "B": "quoted # not a comment",
        "C": "double",
        "D": "plain",
    }
    assert read_env_file(tmp_path / "absent") == {}


def test_acting_as_a_user_appends_the_identity() -> None:
    header = Connection(URL, "key").authorization({"subject": "u1"})
    key, _, identity = header.removeprefix("Convex ").partition(":")
    assert key == "key"
    assert json.loads(base64.b64decode(identity)) == {"subject": "u1"}


def test_an_unreachable_deployment_says_where_it_looked() -> None:
    with pytest.raises(CliError) as e:
        Connection("http://127.0.0.1:9", "k").request("GET", "/version", timeout=5)
    assert "http://127.0.0.1:9" in e.value.message and "bayou serve" in e.value.message
