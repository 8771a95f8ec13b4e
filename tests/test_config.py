"""Settings: one table, strict booleans, flags over environment over defaults, documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayou.config import SETTINGS, Settings, from_sources, parse_bool, settings_table
from bayou.errors import BadRequest

README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.env], ids=lambda s: s.env)
def test_every_environment_setting_is_documented_in_the_readme(setting) -> None:
    assert f"`{setting.env}`" in README


@pytest.mark.parametrize(
    "text, value",
    [
        ("true", True),
        ("1", True),
        ("YES", True),
        ("false", False),
        ("0", False),
        ("", False),
        ("off", False),
    ],
)
def test_booleans_are_parsed_strictly(text: str, value: bool) -> None:
    assert parse_bool("X", text) is value


def test_a_boolean_that_is_neither_is_refused() -> None:
    with pytest.raises(BadRequest) as e:
        from_sources({}, {"DO_NOT_REQUIRE_SSL": "maybe"})
    assert "DO_NOT_REQUIRE_SSL" in e.value.message


def test_false_means_false_unlike_convexs_entrypoint() -> None:
    assert from_sources({}, {"DO_NOT_REQUIRE_SSL": "false"}).do_not_require_ssl is False


def test_flags_win_over_the_environment_which_wins_over_defaults() -> None:
    s = from_sources({"port": 4000}, {"PORT": "5000", "SITE_PROXY_PORT": "5001"})
    assert (s.port, s.site_port, s.host) == (4000, 5001, "127.0.0.1")
    assert s.api_origin == "http://127.0.0.1:4000"


def test_origins_must_be_urls() -> None:
    with pytest.raises(BadRequest) as e:
        from_sources({}, {"CONVEX_CLOUD_ORIGIN": "api.example.com"})
    assert "http://" in e.value.message


def test_every_setting_is_a_field_of_settings() -> None:
    fields = set(Settings.__dataclass_fields__)
    assert {s.name for s in SETTINGS} == fields


def test_the_readme_table_is_the_settings_table() -> None:
    """One source: the README's Configuration table is rendered from SETTINGS (copy the
    output of `python -c 'from bayou.config import settings_table; print(settings_table())'`
    into the README when a setting changes)."""
    assert settings_table() in README


def test_log_level_and_ports_are_checked() -> None:
    with pytest.raises(BadRequest, match="LOG_LEVEL must be one of"):
        from_sources({}, {"LOG_LEVEL": "loud"})
    with pytest.raises(BadRequest, match="must be a port number"):
        from_sources({"port": 70000}, {})
