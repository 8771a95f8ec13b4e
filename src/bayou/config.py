"""Settings: one table (name, environment variable, default, help) feeds `bayou serve`'s
flags, its `--help`, the README's table (`settings_table`; a test compares them) and the
typed `Settings` the backend receives.

Nothing deeper than the edge reads `os.environ`: the CLI builds `Settings` once.
Booleans are parsed strictly — `false`, `0`, `no`, `off` and the empty string are false —
unlike Convex's entrypoint script, where `DO_NOT_REQUIRE_SSL=false` turns the flag on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from bayou.errors import BadRequest

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def parse_bool(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest(f"{name}={text!r} is not a boolean: use true or false", code="InvalidSetting")


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of the settings table: a field of `Settings`, the flag `--<name>` of
    `bayou serve`, an environment variable, and their documentation."""

    name: str  # field of Settings; the flag is --name-with-dashes
    env: str | None  # environment variable, if any
    default: Any
    help: str  # one sentence: `--help` and the README's "meaning" column
    kind: type = str
    shown_default: str = ""  # the default as documented (markdown); "" for `default`

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def default_text(self) -> str:
        """The default for documentation, in markdown (`--help` drops the backticks)."""
        if self.shown_default:
            return self.shown_default
        if isinstance(self.default, bool):
            return f"`{str(self.default).lower()}`"
        if isinstance(self.default, float) and self.default.is_integer():
            return f"`{int(self.default)}`"
        return f"`{self.default}`"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir",
        "DATA_DIR",
        Path("./bayou-data"),
        "Directory of the database (SQLite), files and the instance credentials.",
        Path,
        shown_default="`./bayou-data`",
    ),
    Setting("host", None, "127.0.0.1", "Interface to listen on (`0.0.0.0` for every interface)."),
    Setting("port", "PORT", 3210, "Port of the API: functions, sync, CLI, dashboard.", int),
    Setting(
        "site_port",
        "SITE_PROXY_PORT",
        3211,
        "Port of HTTP actions (also served under `/http` on the API port).",
        int,
    ),
    Setting(
        "instance_name",
        "INSTANCE_NAME",
        None,
        "Instance name; stored in the data directory on first start.",
        shown_default="stored, else `convex-self-hosted`",
    ),
    Setting(
        "instance_secret",
        "INSTANCE_SECRET",
        None,
        "Instance secret, 64 hex characters; stored in the data directory on first start.",
        shown_default="stored, else random",
    ),
    Setting(
        "cloud_origin",
        "CONVEX_CLOUD_ORIGIN",
        None,
        "Public URL of the API, as clients reach it.",
        shown_default="`http://<host>:<port>`",
    ),
    Setting(
        "site_origin",
        "CONVEX_SITE_ORIGIN",
        None,
        "Public URL of HTTP actions, as clients reach it.",
        shown_default="`http://<host>:<site-port>`",
    ),
    Setting(
        "postgres_url",
        "POSTGRES_URL",
        None,
        "PostgreSQL server URL, without a database name (the database is named after the "
        "instance).",
        shown_default="SQLite",
    ),
    Setting(
        "do_not_require_ssl",
        "DO_NOT_REQUIRE_SSL",
        False,
        "Connect to PostgreSQL without TLS.",
        bool,
    ),
    Setting(
        "redact_logs_to_client",
        "REDACT_LOGS_TO_CLIENT",
        False,
        "Hide function log lines and error details from clients.",
        bool,
    ),
    Setting(
        "log_level",
        "LOG_LEVEL",
        "info",
        "Server log level: `debug`, `info`, `warning` or `error`.",
    ),
    Setting("log_format", "LOG_FORMAT", "text", "Server log format: `text`, or `json` lines."),
    Setting(
        "query_timeout",
        "BAYOU_QUERY_TIMEOUT",
        1.0,
        "User-code time limit of queries and mutations, in seconds.",
        float,
    ),
    Setting(
        "action_timeout",
        "BAYOU_ACTION_TIMEOUT",
        600.0,
        "User-code time limit of actions, in seconds.",
        float,
    ),
    Setting(
        "js_fresh_context",
        "BAYOU_JS_FRESH_CONTEXT",
        False,
        "A fresh JavaScript context for every call (strict isolation, 4-6 ms a call).",
        bool,
    ),
)

LOG_LEVELS = ("debug", "info", "warning", "error")


def settings_table() -> str:
    """The README's table of settings (markdown), rendered from `SETTINGS`."""
    rows = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        env = f"`{s.env}`" if s.env else ""
        rows.append(f"| `{s.flag}` | {env} | {s.default_text} | {s.help} |")
    return "\n".join(rows) + "\n"


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("./bayou-data")
    host: str = "127.0.0.1"
    port: int = 3210
    site_port: int = 3211
    instance_name: str | None = None
    instance_secret: str | None = None
    cloud_origin: str | None = None
    site_origin: str | None = None
    postgres_url: str | None = None
    do_not_require_ssl: bool = False
    redact_logs_to_client: bool = False
    log_level: str = "info"
    log_format: str = "text"
    query_timeout: float = 1.0
    action_timeout: float = 600.0
    js_fresh_context: bool = False

    @property
    def api_origin(self) -> str:
        return (self.cloud_origin or f"http://{_display_host(self.host)}:{self.port}").rstrip("/")

    @property
    def http_origin(self) -> str:
        return (self.site_origin or f"http://{_display_host(self.host)}:{self.site_port}").rstrip(
            "/"
        )


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def from_sources(flags: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    """Settings from explicit flags (None = not given), then the environment, then defaults."""
    values: dict[str, Any] = {}
    for s in SETTINGS:
        value = flags.get(s.name)
        if value is None and s.env is not None and s.env in env:
            raw = env[s.env]
            value = _parse(s, raw)
        if value is None:
            continue
        values[s.name] = _check(s, value)
    names = {f.name for f in fields(Settings)}
    assert set(values) <= names
    return Settings(**values)


def _parse(s: Setting, raw: str) -> Any:
    if s.kind is bool:
        return parse_bool(s.env or s.name, raw)
    if s.kind in (int, float):
        try:
            return s.kind(raw)
        except ValueError:
            raise BadRequest(f"{s.env}={raw!r} must be a number", code="InvalidSetting") from None
    if s.kind is Path:
        return Path(raw)
    return raw or None


def _check(s: Setting, value: Any) -> Any:
    if (
        s.name in ("cloud_origin", "site_origin")
        and value
        and not str(value).startswith(("http://", "https://"))
    ):
        raise BadRequest(
            f"{s.env}={value!r} must start with http:// or https:// (it is the URL clients use)",
            code="InvalidSetting",
        )
    if s.name == "log_format" and value not in ("text", "json"):
        raise BadRequest(
            f"--log-format / LOG_FORMAT must be text or json, not {value!r}", code="InvalidSetting"
        )
    if s.name == "log_level" and str(value).lower() not in LOG_LEVELS:
        raise BadRequest(
            f"--log-level / LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {value!r}",
            code="InvalidSetting",
        )
    if s.name in ("port", "site_port") and not 0 < value < 65536:
        raise BadRequest(
            f"{s.flag} / {s.env} must be a port number (1-65535), not {value}",
            code="InvalidSetting",
        )
    return value
