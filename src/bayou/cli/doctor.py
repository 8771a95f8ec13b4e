"""`bayou doctor`: check a deployment's setup and say what to fix.

The most common self-hosting failures are configuration, not bugs: a secret that changed
so every admin key is refused, an admin key minted for another instance, `CONVEX_DEPLOYMENT`
left in `.env.local` so `npx convex` talks to Convex Cloud, a URL without the scheme,
PostgreSQL unreachable or demanding TLS, an S3 bucket that does not answer, files whose
data is missing from the store, no Node for TypeScript functions. Each check
prints one line (a list, when it names where it looked), and a failed one says how to fix
it. Exit status: 0 when nothing failed, 1 otherwise.

It only reads: no credentials, database, table or file is created, and no lock is taken
that a starting server could trip over. It finds the data directory as `bayou admin-key`
does (`bayou.cli.data_dirs`), so it works from a Convex app's folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bayou.cli.options import (
    DataDirOption,
    InstanceNameOption,
    InstanceSecretOption,
)
from bayou.files.audit_findings import findings

if TYPE_CHECKING:
    import urllib.request

    from bayou.cli.data_dirs import DataDir
    from bayou.config import Settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEPLOY_KEY_VARIABLES = ("CONVEX_DEPLOY_KEY", "CONVEX_DEPLOYMENT_TOKEN")


@dataclass
class Check:
    name: str
    ok: bool | None  # None: a note, not a failure
    detail: str


def doctor(
    data_dir: DataDirOption = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="Deployment URL clients use. Default: $CONVEX_SELF_HOSTED_URL (environment, "
            "then .env.local, .env), else http://127.0.0.1:<port>.",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="API port to check when no URL is set (env PORT). Default: 3210.",
            show_default=False,
        ),
    ] = None,
    instance_name: InstanceNameOption = None,
    instance_secret: InstanceSecretOption = None,
    admin_key: Annotated[
        str | None,
        typer.Option(
            help="Admin key to verify. Default: $CONVEX_SELF_HOSTED_ADMIN_KEY (environment, "
            "then .env.local, .env).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check settings, data directory, credentials, database, file store, Node, what `npx
    convex` will talk to, the server, your admin key and its files; print what to fix."""
    from bayou.cli.admin_key import deployment_url
    from bayou.cli.env_files import KEY_VARIABLE, lookup_with_source
    from bayou.config import from_sources
    from bayou.errors import BayouError

    checks: list[Check] = []
    try:
        settings = from_sources(
            {"port": port, "instance_name": instance_name, "instance_secret": instance_secret},
            os.environ,
        )
    except BayouError as e:
        checks.append(Check("settings", False, e.message))
        _finish(checks)
    checks.append(Check("settings", True, "environment variables and flags parse"))
    url, url_source = deployment_url(url)
    target = (url or settings.api_origin).rstrip("/")
    answering, server_check = _server(target)
    found, location = _data_dir(data_dir, url, url_source, answering)
    checks.append(location)
    if found is not None:
        checks.append(_credentials(found, settings, answering))
        checks.append(_database(found, settings))
    checks.append(_file_store(found, settings))
    checks.append(_node())
    checks.append(_confinement())
    checks.extend(_cli_target())
    checks.append(server_check)
    if answering:
        key, key_source = (
            (admin_key, "--admin-key")
            if admin_key
            else lookup_with_source(KEY_VARIABLE, os.environ, Path.cwd())
        )
        checks.append(_admin_key(target, key, key_source))
        if key and checks[-1].ok:
            checks.append(_files(target, key))
            checks.append(_auth(target, key))
    _finish(checks)


def _finish(checks: list[Check]) -> None:
    marks = {True: "ok  ", False: "FAIL", None: "note"}
    for c in checks:
        detail = c.detail.replace("\n", "\n       ")
        typer.echo(f"[{marks[c.ok]}] {c.name}: {detail}")
    if any(c.ok is False for c in checks):
        raise typer.Exit(1)
    raise typer.Exit(0)


def _data_dir(
    flag: Path | None, url: str | None, url_source: str, answering: bool
) -> tuple[DataDir | None, Check]:
    from bayou.cli.data_dirs import DataDirNotFound, locate

    try:
        found = locate(
            flag,
            url=url,
            url_source=url_source,
            environ=os.environ,
            cwd=Path.cwd(),
            command="doctor",
        )
    except DataDirNotFound as e:
        # Before the first `bayou serve` there is nothing to find, and that is fine.
        return None, Check("data directory", False if answering else None, e.message)
    return found, Check("data directory", True, found.describe())


def _credentials(found: DataDir, settings: Settings, answering: bool) -> Check:
    from bayou.auth.credentials import InvalidCredentials, MissingCredentials, load_stored
    from bayou.cli.data_dirs import server_mismatch

    try:
        creds = load_stored(
            found.path, name=settings.instance_name, secret_hex=settings.instance_secret
        )
    except MissingCredentials as e:
        return Check(
            "credentials",
            False if answering else None,
            f"none in {e.secret_file.parent}: no server has started on this data directory "
            "(`bayou serve` creates them on first start); if your server runs elsewhere, "
            "point at its data directory with --data-dir",
        )
    except InvalidCredentials as e:
        return Check("credentials", False, str(e))
    except OSError as e:
        return Check("credentials", False, f"cannot read {found.path}: {e.strerror or e}")
    if found.server is not None:
        mismatch = server_mismatch(found.server, creds)
        if mismatch:
            return Check("credentials", False, mismatch)
    return Check("credentials", True, f"instance {creds.name!r}, stored in {found.path}")


def _database(found: DataDir, settings: Settings) -> Check:
    from bayou.errors import BayouError

    if found.server is not None and found.server.database:
        return Check("database", True, f"{found.server.database} (in use by the running server)")
    if settings.postgres_url:
        from bayou.auth.credentials import load_stored
        from bayou.persistence.postgres import inspect_database

        try:
            name = (
                settings.instance_name or load_stored(found.path, name=None, secret_hex=None).name
            )
        except Exception:
            name = settings.instance_name or "convex-self-hosted"
        import asyncio

        try:
            state = asyncio.run(
                inspect_database(
                    settings.postgres_url, name, require_ssl=not settings.do_not_require_ssl
                )
            )
        except BayouError as e:
            return Check("database", False, e.message)
        return Check("database", True, state)
    return _sqlite(found.path / "db.sqlite3")


def _sqlite(path: Path) -> Check:
    """The SQLite file, judged without opening it (opening a WAL database writes files)."""
    try:
        with open(path, "rb") as file:
            header = file.read(16)
        size = path.stat().st_size
    except FileNotFoundError:
        return Check("database", None, f"SQLite at {path}: not created yet (`bayou serve` does)")
    except OSError as e:
        return Check("database", False, f"cannot read {path}: {e.strerror or e}")
    if header != b"SQLite format 3\x00":
        return Check("database", False, f"{path} is not an SQLite database: move it away")
    return Check("database", True, f"SQLite at {path} ({size / 1e6:.1f} MB)")


def _file_store(found: DataDir | None, settings: Settings) -> Check:
    """The file store the settings select, and whether it can be used (an S3 bucket is
    asked for; a local directory is only looked at)."""
    import asyncio
    import dataclasses

    from bayou.blobs import BlobStoreError, S3BlobStore
    from bayou.files.service import blob_store_for

    if found is not None:
        settings = dataclasses.replace(settings, data_dir=found.path)
    store = blob_store_for(settings)
    if isinstance(store, S3BlobStore):

        async def probe() -> None:
            try:
                await store.open()
            finally:
                await store.close()

        try:
            asyncio.run(probe())
        except BlobStoreError as e:
            return Check("file store", False, e.message)
        return Check("file store", True, f"{store.description}: the bucket answers")
    root = settings.data_dir / "storage" / "files"
    if not root.is_dir():
        return Check("file store", None, f"{store.description}: not created yet")
    if not os.access(root, os.R_OK | os.W_OK | os.X_OK):
        return Check("file store", False, f"{store.description}: not writable by this user")
    return Check("file store", True, store.description)


def _files(url: str, key: str) -> Check:
    """The running server's files against its store: orphaned blobs (space no file uses)
    and files whose blob is missing (data lost: restore it)."""
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{url}/api/bayou/storage", headers={"Authorization": f"Convex {key}"}
    )
    try:
        with _open(url, request) as response:
            report = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as e:
        return Check("files", None, f"could not check them: {getattr(e, 'reason', e)}")
    verdict, summary, problems = findings(report)
    return Check("files", verdict, summary + "".join(f"\n    - {p}" for p in problems))


def _auth(url: str, key: str) -> Check:
    """The deployed auth providers: each one's discovery document and JWKS fetched and
    checked, as `bayou auth check` does (issuer mismatch, unreachable JWKS, clock skew)."""
    from bayou.cli.auth import run_checks
    from bayou.cli.connection import CliError, Connection

    try:
        findings = run_checks(Connection(url, key))
    except CliError as e:
        return Check("auth", None, f"could not check the auth providers: {e.message}")
    if all(f.ok is None for f in findings):
        return Check("auth", None, "; ".join(f"{f.subject}: {f.detail}" for f in findings))
    ok = not any(f.ok is False for f in findings)
    marks = {True: "ok", False: "FAIL", None: "note"}
    lines = "".join(f"\n    - [{marks[f.ok]}] {f.subject}: {f.detail}" for f in findings)
    summary = "every provider's keys answer" if ok else "tokens of some provider cannot verify"
    return Check("auth", ok, summary + lines)


def _node() -> Check:
    import subprocess

    try:
        from bayou.runtimes.js.node import find_node

        node = find_node()
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except Exception as e:  # any failure here means: TypeScript functions cannot run
        return Check(
            "node",
            False,
            f"no usable Node.js ({e}); TypeScript/JavaScript functions need Node 18+: install "
            "`node`, or `pip install 'bayou[node]'`",
        )
    major = int(version.lstrip("v").split(".")[0] or 0)
    if major < 18:
        return Check("node", False, f"{node} is {version}; Convex bundles need Node 18 or newer")
    return Check("node", True, f"{node} {version}")


def _confinement() -> Check:
    """How function workers would be confined here, and what this machine lacks (a note:
    the server runs without what is missing, and says so at start too)."""
    import sys

    from bayou.runtimes.confinement import detect
    from bayou.runtimes.confiner import Confiner
    from bayou.runtimes.js.worker import WORKER_SCRIPT
    from bayou.runtimes.python.host import python_files

    support = detect()
    notes = support.problems()
    python = Confiner(sys.executable, python_files(sys.executable)).note("Python")
    notes += [python] if python else []
    try:
        from bayou.runtimes.js.node import find_node

        js = Confiner(find_node(), [str(WORKER_SCRIPT.parent)]).note("JavaScript")
        notes += [js] if js else []
    except Exception:
        pass  # the node check says why
    detail = support.summary() + "".join(f"\n    - {note}" for note in notes)
    return Check("sandbox", None if notes else True, detail)


def _cli_target() -> list[Check]:
    """What `npx convex` run in this folder will talk to, read as it reads it: the
    environment, then .env.local, then .env; an empty value is unset."""
    from bayou.cli.env_files import KEY_VARIABLE, URL_VARIABLE, lookup_with_source

    cwd = Path.cwd()

    def find(name: str) -> tuple[str | None, str]:
        return lookup_with_source(name, os.environ, cwd)

    (url, url_from), (key, key_from) = find(URL_VARIABLE), find(KEY_VARIABLE)
    deployment, deployment_from = find("CONVEX_DEPLOYMENT")
    for name in DEPLOY_KEY_VARIABLES:
        value, source = find(name)
        if value:
            return [
                Check(
                    "npx convex target",
                    False,
                    f"{name} is set (in {source}): `npx convex` uses it and talks to Convex "
                    f"Cloud, not to your Bayou server. Unset it (or remove it from {source}).",
                )
            ]
    if url and key and deployment:
        return [
            Check(
                "npx convex target",
                False,
                f"CONVEX_DEPLOYMENT={deployment} (in {deployment_from}) is set along with "
                f'{URL_VARIABLE} and {KEY_VARIABLE}: `npx convex` refuses to run ("must not '
                f'be set"). Remove CONVEX_DEPLOYMENT from {deployment_from}.',
            )
        ]
    unset = [name for name, value in ((URL_VARIABLE, url), (KEY_VARIABLE, key)) if not value]
    if deployment:
        return [
            Check(
                "npx convex target",
                False,
                f"CONVEX_DEPLOYMENT={deployment} (in {deployment_from}) points `npx convex` at "
                f"Convex Cloud, and {' and '.join(unset)} "
                + ("are" if len(unset) > 1 else "is")
                + f" not set. Remove CONVEX_DEPLOYMENT from "
                f"{deployment_from} and set {URL_VARIABLE} and {KEY_VARIABLE} "
                "(`export CONVEX_SELF_HOSTED_ADMIN_KEY=$(bayou admin-key)`).",
            )
        ]
    if not url or not key:
        fixes = {
            URL_VARIABLE: f"export {URL_VARIABLE}=http://127.0.0.1:3210",
            KEY_VARIABLE: f"export {KEY_VARIABLE}=$(bayou admin-key)",
        }
        return [
            Check(
                "npx convex target",
                None,
                f"{' and '.join(unset)} not set here (environment, .env.local, .env): "
                "`npx convex` would ask for a Convex Cloud login instead. Set "
                + ("them" if len(unset) > 1 else "it")
                + ": "
                + "; ".join(f"`{fixes[name]}`" for name in unset),
            )
        ]
    return [
        Check(
            "npx convex target",
            True,
            f"{url} (from {url_from}), admin key from {key_from}",
        )
    ]


def _server(url: str) -> tuple[bool, Check]:
    """Whether a Bayou answers at `url`, and the check that says so. Each verdict comes
    from how the request itself failed, never from a second probe of the port."""
    import urllib.error
    from urllib.parse import urlsplit

    from bayou.cli import server_records

    if not url.startswith(("http://", "https://")):
        return False, Check("server", False, f"{url!r} must start with http:// or https://")
    parts = urlsplit(url)
    address = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    ours = server_records.for_url(url, server_records.live())
    holder = f"the Bayou server there (pid {ours.pid})" if ours else "what listens there"
    try:
        with _open(url, f"{url}/instance_name") as response:
            name = response.read().decode().strip()
    except urllib.error.HTTPError as e:
        if ours is not None:
            why = f"{holder} answered HTTP {e.code} on /instance_name: see its log"
        else:
            why = (
                f"something else answers there (HTTP {e.code} on /instance_name): check the "
                "URL, or stop what holds the port"
            )
        return False, Check("server", False, f"no Bayou answers at {url}: {why}")
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, ConnectionRefusedError):
            why = f"nothing listens on {address}: start it with `bayou serve`"
        elif isinstance(reason, TimeoutError):
            why = f"{holder} accepted the connection but did not answer within 5 s"
        else:
            why = f"cannot reach it ({reason})"
        return False, Check("server", None, f"no Bayou answers at {url}: {why}")
    return True, Check("server", True, f"{url} answers as instance {name!r}")


def _admin_key(url: str, key: str | None, source: str) -> Check:
    import urllib.error
    import urllib.request

    from bayou.cli.env_files import KEY_VARIABLE

    if not key:
        return Check(
            "admin key",
            None,
            f"none given ({KEY_VARIABLE} or --admin-key): mint one with `bayou admin-key`",
        )
    request = urllib.request.Request(
        f"{url}/api/check_admin_key", headers={"Authorization": f"Convex {key}"}
    )
    try:
        with _open(url, request):
            return Check("admin key", True, f"accepted by the server (from {source})")
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        return Check(
            "admin key",
            False,
            f"refused ({e.code}): {body} (the key is from {source}; mint a new one with "
            "`bayou admin-key`)",
        )
    except (urllib.error.URLError, OSError) as e:
        return Check("admin key", False, f"could not check it: {getattr(e, 'reason', e)}")


def _open(url: str, request: str | urllib.request.Request):  # type: ignore[no-untyped-def]
    """urlopen, bypassing HTTP proxies for a loopback server (a proxy cannot reach it)."""
    import urllib.request
    from urllib.parse import urlsplit

    handlers = []
    if urlsplit(url).hostname in LOOPBACK:
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers).open(request, timeout=5)
