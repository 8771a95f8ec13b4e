"""Talking to a deployment from the `bayou` CLI: where it is, the admin key, HTTP calls.

The deployment is named as the official CLI names a self-hosted one:
`CONVEX_SELF_HOSTED_URL` and `CONVEX_SELF_HOSTED_ADMIN_KEY`, read from `--url` /
`--admin-key` first, then the environment, then `.env.local` and `.env` in the current
directory (as `npx convex` loads them). Requests carry `Authorization: Convex <key>` and
`Convex-Client: bayou-cli-<version>`; failures become `CliError`s whose message is the
server's `{code, message}`, so the user reads what the server said to do.

Only the standard library speaks HTTP here, so the CLI needs nothing beyond Bayou itself
(and no Node).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bayou import __version__
from bayou.cli.env_files import (  # noqa: F401  (ENV_FILES, read_env_file: re-exported)
    ENV_FILES,
    KEY_VARIABLE,
    URL_VARIABLE,
    lookup,
    read_env_file,
)

if TYPE_CHECKING:
    import urllib.error

CLIENT_NAME = f"bayou-cli-{__version__}"
DEFAULT_TIMEOUT = 60.0

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help=f"Deployment URL. Default: ${URL_VARIABLE} (environment, then .env.local).",
        show_default=False,
    ),
]
AdminKeyOption = Annotated[
    str | None,
    typer.Option(
        "--admin-key",
        help=f"Admin key. Default: ${KEY_VARIABLE} (environment, then .env.local).",
        show_default=False,
    ),
]


class CliError(Exception):
    """A failure to report to the user (its message) before exiting with status 1."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Connection:
    """One deployment: its URL and admin key."""

    url: str
    admin_key: str

    @classmethod
    def resolve(
        cls,
        url: str | None = None,
        admin_key: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        directory: Path | None = None,
    ) -> Connection:
        """Flags, else the environment, else `.env.local` / `.env`; `CliError` if missing."""
        environ = os.environ if environ is None else environ
        directory = Path.cwd() if directory is None else directory
        url = url or lookup(URL_VARIABLE, environ, directory)
        admin_key = admin_key or lookup(KEY_VARIABLE, environ, directory)
        missing = [
            f"{flag} / {var}"
            for flag, var, value in (
                ("--url", URL_VARIABLE, url),
                ("--admin-key", KEY_VARIABLE, admin_key),
            )
            if not value
        ]
        if missing:
            raise CliError(
                f"No deployment to talk to: set {' and '.join(missing)} (in the environment "
                "or in .env.local). For a local server: "
                f"{URL_VARIABLE}=http://127.0.0.1:3210 and "
                f"{KEY_VARIABLE}=$(bayou admin-key) (it finds the running server's data "
                "directory)."
            )
        assert url is not None and admin_key is not None
        if not url.startswith(("http://", "https://")):
            raise CliError(f"The deployment URL must start with http:// or https://, got {url!r}")
        return cls(url.rstrip("/"), admin_key.strip())

    def authorization(self, identity: dict[str, Any] | None = None) -> str:
        """`Convex <key>`, or `Convex <key>:<base64 identity>` to act as a user."""
        if identity is None:
            return f"Convex {self.admin_key}"
        encoded = base64.b64encode(json.dumps(identity).encode()).decode()
        return f"Convex {self.admin_key}:{encoded}"

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        compress: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        identity: dict[str, Any] | None = None,
    ) -> Any:
        """Send a request and return its parsed JSON body (None when empty)."""
        import urllib.error
        import urllib.request

        import orjson

        headers = {
            "Authorization": self.authorization(identity),
            "Convex-Client": CLIENT_NAME,
        }
        data: bytes | None = None
        if body is not None:
            data = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
            if compress:
                import brotli  # type: ignore[import-untyped]  # only pushes compress

                data = brotli.compress(data, quality=5)
                headers["Content-Encoding"] = "br"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise self._http_error(error, path) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise CliError(
                f"Could not reach the deployment at {self.url} ({reason}). Is `bayou serve` "
                f"running there? Check {URL_VARIABLE}."
            ) from None
        return orjson.loads(raw) if raw.strip() else None

    def _http_error(self, error: urllib.error.HTTPError, path: str) -> CliError:
        import orjson

        raw = error.read()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict) and "message" in body:
            code = body.get("code")
            message = str(body["message"])
            if code in ("BadAdminKey", "BadDeployKey", "Unauthenticated"):
                message += f"\n(check {KEY_VARIABLE} or --admin-key)"
            return CliError(message, code=code, status=error.code)
        text = raw.decode(errors="replace").strip() or error.reason
        return CliError(f"{path} answered HTTP {error.code}: {text}", status=error.code)

    # -- functions -------------------------------------------------------------------

    def call(
        self,
        path: str,
        args: Any,
        *,
        endpoint: str = "/api/function",
        identity: dict[str, Any] | None = None,
        timeout: float = 660.0,
    ) -> dict[str, Any]:
        """Run a function; the UdfResponse (`status`, `value` | `errorMessage`, …)."""
        response = self.request(
            "POST",
            endpoint,
            {"path": path, "args": args, "format": "convex_encoded_json"},
            identity=identity,
            timeout=timeout,
        )
        if not isinstance(response, dict) or "status" not in response:
            raise CliError(f"Unexpected answer from {endpoint}: {response!r}")
        return response

    def system_query(self, path: str, args: dict[str, Any] | None = None) -> Any:
        """A `_system/...` query (admin only), its value as Convex-encoded JSON."""
        response = self.call(path, args or {}, endpoint="/api/query")
        if response["status"] != "success":
            raise CliError(str(response.get("errorMessage", "")))
        return response.get("value")
