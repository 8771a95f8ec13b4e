"""`bayou doctor`: check a deployment's setup and say what to fix.

The most common self-hosting failures are configuration, not bugs: a secret that changed
so every admin key is refused, an admin key minted for another instance, a URL without
the scheme, PostgreSQL unreachable or demanding TLS, a port already taken, no Node for
TypeScript functions. Each check prints one line, and a failed one says how to fix it.
Exit status: 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from bayou.cli.options import (
    DEFAULT_DATA_DIR,
    DataDirOption,
    InstanceNameOption,
    InstanceSecretOption,
)
from bayou.config import Settings, from_sources
from bayou.errors import BayouError


@dataclass
class Check:
    name: str
    ok: bool | None  # None: a warning, not a failure
    detail: str


def doctor(
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    port: Annotated[
        int | None, typer.Option(help="API port to check (env PORT).", show_default="3210")
    ] = None,
    instance_name: InstanceNameOption = None,
    instance_secret: InstanceSecretOption = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="Deployment URL clients use (env CONVEX_SELF_HOSTED_URL).", show_default=False
        ),
    ] = None,
    admin_key: Annotated[
        str | None,
        typer.Option(
            help="Admin key to verify (env CONVEX_SELF_HOSTED_ADMIN_KEY).", show_default=False
        ),
    ] = None,
) -> None:
    """Check configuration, credentials, storage, Node and the running server; print fixes."""
    env = {**_dotenv(Path(".env.local")), **os.environ}
    checks: list[Check] = []
    try:
        settings = from_sources(
            {
                "data_dir": data_dir
                if data_dir != DEFAULT_DATA_DIR or "DATA_DIR" not in env
                else None,
                "port": port,
                "instance_name": instance_name,
                "instance_secret": instance_secret,
            },
            env,
        )
    except BayouError as e:
        checks.append(Check("settings", False, e.message))
        _print(checks)
        raise typer.Exit(1) from None
    checks.append(Check("settings", True, "environment variables and flags parse"))
    checks.extend(_credentials(settings))
    checks.append(asyncio.run(_database(settings)))
    checks.append(_node())
    target = url or env.get("CONVEX_SELF_HOSTED_URL") or settings.api_origin
    checks.extend(
        _server(target.rstrip("/"), settings, admin_key or env.get("CONVEX_SELF_HOSTED_ADMIN_KEY"))
    )
    _print(checks)
    if any(c.ok is False for c in checks):
        raise typer.Exit(1)


def _credentials(settings: Settings) -> list[Check]:
    from bayou.auth.credentials import CREDENTIALS_DIRNAME, SECRET_FILENAME

    secret_file = settings.data_dir / CREDENTIALS_DIRNAME / SECRET_FILENAME
    if not secret_file.exists() and not settings.instance_secret:
        return [
            Check(
                "credentials",
                None,
                f"none yet in {settings.data_dir}: `bayou serve` creates and keeps them on first start",
            )
        ]
    from bayou.auth.credentials import InvalidCredentials, load_or_create

    try:
        creds = load_or_create(
            settings.data_dir, name=settings.instance_name, secret_hex=settings.instance_secret
        )
    except InvalidCredentials as e:
        return [Check("credentials", False, str(e))]
    return [Check("credentials", True, f"instance {creds.name!r}, secret stored in {secret_file}")]


async def _database(settings: Settings) -> Check:
    from bayou.auth.credentials import InvalidCredentials, load_or_create
    from bayou.persistence import open_persistence

    try:
        name = (
            settings.instance_name
            or load_or_create(
                settings.data_dir, name=None, secret_hex=settings.instance_secret
            ).name
        )
    except InvalidCredentials as e:
        return Check("database", False, str(e))
    try:
        persistence = open_persistence(
            data_dir=settings.data_dir,
            postgres_url=settings.postgres_url,
            instance_name=name,
            require_ssl=not settings.do_not_require_ssl,
        )
    except BayouError as e:
        return Check("database", False, e.message)
    try:
        await persistence.open()
    except BayouError as e:
        if e.code == "DatabaseInUse":
            return Check(
                "database", True, f"{persistence.description} (in use by a running server)"
            )
        return Check("database", False, e.message)
    try:
        ts = await persistence.max_ts()
    finally:
        await persistence.close()
    state = "empty" if ts == 0 else "holds data"
    return Check("database", True, f"{persistence.description} ({state})")


def _node() -> Check:
    try:
        from bayou.runtimes.js import find_node

        node = find_node()
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except Exception as e:  # any failure here means: TypeScript functions cannot run
        return Check(
            "node",
            False,
            f"no usable Node.js ({e}); TypeScript/JavaScript functions need Node 18+: install `node`, or `pip install 'bayou[node]'`",
        )
    major = int(version.lstrip("v").split(".")[0] or 0)
    if major < 18:
        return Check("node", False, f"{node} is {version}; Convex bundles need Node 18 or newer")
    return Check("node", True, f"{node} {version}")


def _server(url: str, settings: Settings, key: str | None) -> list[Check]:
    if not url.startswith(("http://", "https://")):
        return [Check("url", False, f"{url!r} must start with http:// or https://")]
    try:
        with urllib.request.urlopen(f"{url}/instance_name", timeout=5) as response:
            name = response.read().decode().strip()
    except (urllib.error.URLError, OSError) as e:
        listening = _port_in_use(settings.host, settings.port)
        hint = (
            f"something else listens on port {settings.port}: stop it or pick --port"
            if listening
            else "start it with `bayou serve`"
        )
        return [
            Check("server", None, f"no Bayou answers at {url} ({getattr(e, 'reason', e)}); {hint}")
        ]
    checks = [Check("server", True, f"{url} answers as instance {name!r}")]
    if key is None:
        checks.append(
            Check(
                "admin key",
                None,
                "none given (CONVEX_SELF_HOSTED_ADMIN_KEY); mint one with `bayou admin-key`",
            )
        )
        return checks
    request = urllib.request.Request(
        f"{url}/api/check_admin_key", headers={"Authorization": f"Convex {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5):
            checks.append(Check("admin key", True, "accepted by the server"))
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        checks.append(Check("admin key", False, f"refused ({e.code}): {body}"))
    return checks


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1" if host in ("0.0.0.0", "") else host, port)) == 0


def _dotenv(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip().strip("'\"")
    return out


def _print(checks: list[Check]) -> None:
    marks = {True: "ok  ", False: "FAIL", None: "note"}
    for c in checks:
        typer.echo(f"[{marks[c.ok]}] {c.name}: {c.detail}")
