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
    Setting(
        "log_format",
        "LOG_FORMAT",
        "text",
        "Server log format: `text`, or `json` (every line the server writes is one JSON "
        "object, the start banner and the access log included).",
    ),
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
    Setting(
        "read_ahead",
        "BAYOU_READ_AHEAD",
        True,
        "Answer a mutation's first reads before it asks for them, as its arguments or its "
        "last attempt predict (fewer round trips to the function worker).",
        bool,
    ),
    Setting(
        "max_concurrent_queries",
        "APPLICATION_MAX_CONCURRENT_QUERIES",
        16,
        "Queries that run at once; more wait up to 5 s for a turn, then get "
        "`TooManyConcurrentRequests` (HTTP 429), as on Convex.",
        int,
    ),
    Setting(
        "max_concurrent_mutations",
        "APPLICATION_MAX_CONCURRENT_MUTATIONS",
        16,
        "Mutations that run at once; more wait up to 5 s for a turn, then get "
        "`TooManyConcurrentRequests` (HTTP 429), as on Convex.",
        int,
    ),
    # File storage (`ctx.storage`): the data directory, or S3 when a files bucket is set.
    Setting(
        "s3_storage_files_bucket",
        "S3_STORAGE_FILES_BUCKET",
        None,
        "S3 bucket for the files functions store (`ctx.storage`); when set, files live there "
        "instead of in the data directory.",
        shown_default="none (files in `storage/files` of the data directory)",
    ),
    Setting(
        "s3_storage_exports_bucket",
        "S3_STORAGE_EXPORTS_BUCKET",
        None,
        "S3 bucket for snapshot exports (`npx convex export`); when set, export ZIPs are "
        "stored there instead of in the data directory.",
        shown_default="none (exports in `storage/exports` of the data directory)",
    ),
    Setting(
        "s3_storage_snapshot_imports_bucket",
        "S3_STORAGE_SNAPSHOT_IMPORTS_BUCKET",
        None,
        "S3 bucket for snapshot imports (`npx convex import`); when set, uploaded parts are "
        "kept there until the upload finishes.",
        shown_default="none (uploads in `storage/snapshot_imports` of the data directory)",
    ),
    Setting(
        "s3_storage_modules_bucket",
        "S3_STORAGE_MODULES_BUCKET",
        None,
        "Accepted as in Convex's image, not used: Bayou keeps function code in its database.",
        shown_default="none",
    ),
    Setting(
        "s3_storage_search_bucket",
        "S3_STORAGE_SEARCH_BUCKET",
        None,
        "Accepted as in Convex's image, not used: Bayou keeps no search index files.",
        shown_default="none",
    ),
    Setting(
        "aws_region",
        "AWS_REGION",
        None,
        "Region of the S3 buckets; needed for AWS S3 (with `S3_ENDPOINT_URL`, `us-east-1` if "
        "unset).",
        shown_default="none",
    ),
    Setting(
        "aws_access_key_id",
        "AWS_ACCESS_KEY_ID",
        None,
        "S3 access key id; unset: AWS's default credential chain (profile, SSO, instance role).",
        shown_default="AWS chain",
    ),
    Setting(
        "aws_secret_access_key",
        "AWS_SECRET_ACCESS_KEY",
        None,
        "Secret of the S3 access key (prefer the variable: flags show in `ps`).",
        shown_default="AWS chain",
    ),
    Setting(
        "aws_session_token",
        "AWS_SESSION_TOKEN",
        None,
        "Session token of temporary AWS credentials.",
        shown_default="none",
    ),
    Setting(
        "s3_endpoint_url",
        "S3_ENDPOINT_URL",
        None,
        "Endpoint of an S3-compatible store (MinIO, R2, Backblaze B2 …).",
        shown_default="AWS S3",
    ),
    Setting(
        "aws_s3_force_path_style",
        "AWS_S3_FORCE_PATH_STYLE",
        False,
        "Path-style addressing (`endpoint/bucket/key`, e.g. for MinIO) instead of "
        "virtual-hosted (`bucket.endpoint/key`).",
        bool,
    ),
    Setting(
        "aws_s3_disable_sse",
        "AWS_S3_DISABLE_SSE",
        False,
        "Do not ask S3 for server-side encryption (AES256): for stores that refuse it.",
        bool,
    ),
    Setting(
        "aws_s3_disable_checksums",
        "AWS_S3_DISABLE_CHECKSUMS",
        False,
        "Send no checksums with uploads: for stores that refuse them (e.g. DigitalOcean Spaces).",
        bool,
    ),
    # Operations: metrics and scheduled backups (docs/server/operations.md).
    Setting(
        "disable_metrics_endpoint",
        "DISABLE_METRICS_ENDPOINT",
        False,
        "Answer `GET /metrics` with 404 `MetricsDisabled` instead of Prometheus metrics.",
        bool,
    ),
    Setting(
        "backup_schedule",
        "BAYOU_BACKUP_SCHEDULE",
        None,
        "Cron expression (UTC) of scheduled backups, e.g. `0 3 * * *`; unset: none.",
        shown_default="none",
    ),
    Setting(
        "backup_dir",
        "BAYOU_BACKUP_DIR",
        None,
        "Directory of backups (ZIPs in Convex's export layout, files included).",
        shown_default="`backups` in the data directory",
    ),
    Setting(
        "backup_s3_bucket",
        "BAYOU_BACKUP_S3_BUCKET",
        None,
        "S3 bucket for backups instead of the directory (with the `AWS_*` and "
        "`S3_ENDPOINT_URL` settings).",
        shown_default="none",
    ),
    Setting(
        "backup_keep",
        "BAYOU_BACKUP_KEEP",
        7,
        "How many scheduled backups to keep; older ones are deleted.",
        int,
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
    read_ahead: bool = True
    max_concurrent_queries: int = 16
    max_concurrent_mutations: int = 16
    s3_storage_files_bucket: str | None = None
    s3_storage_exports_bucket: str | None = None
    s3_storage_snapshot_imports_bucket: str | None = None
    s3_storage_modules_bucket: str | None = None
    s3_storage_search_bucket: str | None = None
    aws_region: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    s3_endpoint_url: str | None = None
    aws_s3_force_path_style: bool = False
    aws_s3_disable_sse: bool = False
    aws_s3_disable_checksums: bool = False
    disable_metrics_endpoint: bool = False
    backup_schedule: str | None = None
    backup_dir: str | None = None
    backup_s3_bucket: str | None = None
    backup_keep: int = 7

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
    settings = Settings(**values)
    _check_s3(settings)
    return settings


def _check_s3(settings: Settings) -> None:
    """S3 file storage needs a region, unless an S3-compatible endpoint is given."""
    if settings.s3_storage_files_bucket and not (settings.aws_region or settings.s3_endpoint_url):
        raise BadRequest(
            "S3_STORAGE_FILES_BUCKET is set but AWS_REGION is not: set the region of the bucket "
            "(or S3_ENDPOINT_URL for an S3-compatible store).",
            code="InvalidSetting",
        )


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
        s.name in ("cloud_origin", "site_origin", "s3_endpoint_url")
        and value
        and not str(value).startswith(("http://", "https://"))
    ):
        raise BadRequest(
            f"{s.env}={value!r} must start with http:// or https://"
            + (" (it is the URL clients use)" if s.name != "s3_endpoint_url" else ""),
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
