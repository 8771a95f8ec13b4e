"""The `bayou serve` process: listening sockets, the backend, the two uvicorn servers,
signals, the banner and the running-server record. `bayou.cli.serve` is the command (its
flags and how failures are reported); this module, imported only when a server starts,
is everything that runs.

Order of start-up, each step failing with one clear `BayouError` before the next costs
anything: bind both ports (a taken port fails at once and names its holder), install the
signal handlers (a Ctrl-C during start-up stops cleanly too), start the backend (the
database refuses a second server), serve, write the record, print the banner. Stopping
is silent: SIGINT/SIGTERM end both servers, then the backend, then remove the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import json
import logging
import os
import shlex
import shutil
import signal
import socket
import sqlite3
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from bayou.backend import Backend
from bayou.cli import server_records
from bayou.config import Settings
from bayou.errors import BadRequest, BayouError
from bayou.persistence import SQLITE_FILE_NAME
from bayou.server.app import api_app, site_app
from bayou.sync.limits import MAX_MESSAGE_BYTES

if TYPE_CHECKING:
    from bayou.cli.server_records import ServerRecord

log = logging.getLogger("bayou")


async def run(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    """Serve until SIGINT/SIGTERM or a fatal database error (raised as a `BayouError`)."""
    listeners = _listen_all(settings)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stopping.set)
    backend = Backend(settings)
    fresh = _FreshDataDir(settings.data_dir)
    _close_to_others(settings.data_dir)
    failed_start = False
    try:
        try:
            started = await _unless_stopped(backend.start(), stopping)
        except sqlite3.Error as e:
            failed_start = True
            raise _unusable_database(settings, e) from None
        except Exception:
            failed_start = True
            raise
        if started:
            _tune_garbage_collector()
            await _serve(backend, settings, listeners, stopping, ready)
    finally:
        await backend.stop()
        if failed_start:
            fresh.remove()
        for sock in listeners:
            sock.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def _tune_garbage_collector() -> None:
    """What was loaded at start lives as long as the server: keep the collector off it
    (`gc.freeze`), and collect the young generation less often — a request allocates a few
    hundred container objects, and at CPython's default of 700 the collector ran every
    few requests (~4 % of the server's CPU under load)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


async def _serve(
    backend: Backend,
    settings: Settings,
    listeners: list[socket.socket],
    stopping: asyncio.Event,
    ready: asyncio.Event | None,
) -> None:
    """Both ports, from the banner until a stop signal or a fatal error."""
    servers = [
        _Server(_uvicorn_config(api_app(backend), settings, settings.port)),
        _Server(_uvicorn_config(site_app(backend), settings, settings.site_port)),
    ]
    tasks = [
        asyncio.create_task(server.serve(sockets=[sock]))
        for server, sock in zip(servers, listeners, strict=True)
    ]
    record = None
    try:
        while not all(s.started for s in servers) and not any(t.done() for t in tasks):
            await asyncio.sleep(0.005)
        if all(s.started for s in servers):
            record = server_records.write(_record(backend, settings))
            _report_confinement(backend)
            _banner(backend, settings)
            if ready is not None:
                ready.set()
            await _until_first(stopping.wait(), _fatal(backend), *tasks)
    finally:
        backend.logs.close()  # long polls would hold the graceful shutdown for seconds
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        server_records.remove(record)
    if backend.db is not None and backend.db.fatal is not None:
        raise backend.db.fatal
    for task in tasks:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error


def _close_to_others(data_dir: Path) -> None:
    """Take other users' access off an existing data directory (made by an older version,
    or by hand): function workers may run as another user."""
    try:
        mode = data_dir.stat().st_mode
        if mode & 0o007 and data_dir.stat().st_uid == os.geteuid():
            os.chmod(data_dir, mode & 0o770)
    except OSError:
        pass  # missing (the start creates it) or not ours: the start reports what matters


def _report_confinement(backend: Backend) -> None:
    """Say once how function workers are confined, and what this machine lacks."""
    from bayou.runtimes.confinement import detect

    support = detect()
    log.info("function workers: %s", support.summary())
    for problem in support.problems():
        log.warning("function workers: %s", problem)
    labels = {"js": "JavaScript", "python": "Python"}
    for name, runtime in backend.runtimes.items():
        confiner = getattr(runtime, "confiner", None)
        note = confiner.note(labels.get(name, name)) if confiner is not None else None
        if note:
            log.warning("function workers: %s", note)


def _unusable_database(settings: Settings, error: sqlite3.Error) -> BayouError:
    """One line for a SQLite database that cannot be opened: where it is and what to do."""
    path = Path(settings.data_dir) / SQLITE_FILE_NAME
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    if code in _CANNOT_WRITE:
        fix = (
            "its directory must be writable, for the database and its journal files. If the "
            "file system is mounted read-only, remount it read-write, or give --data-dir / "
            "DATA_DIR a writable directory."
        )
    else:
        fix = "restore it from a backup, or give --data-dir / DATA_DIR another directory."
    return BadRequest(f"Cannot open the database {path} ({error}): {fix}", code="DataDirUnusable")


_CANNOT_WRITE = {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM}


class _FreshDataDir:
    """The data directory, when this start creates it: a start that fails removes it
    again, so that a refused or broken start (e.g. a second server on a PostgreSQL database
    in use) leaves no second copy of state, such as a fresh secret, behind."""

    def __init__(self, path: Path) -> None:
        self.path: Path | None = None
        try:
            # Not exist_ok: only a directory this process made. 0700: the database and
            # the credentials are the server's alone (function workers run as others).
            path.mkdir(parents=True, mode=0o700)
        except OSError:
            return  # it exists (not ours to remove), or the start reports why it cannot
        self.path = path

    def remove(self) -> None:
        if self.path is None:
            return
        if any(Path(r.data_dir) == self.path for r in server_records.live()):
            return  # another server started on it meanwhile: it is theirs now
        shutil.rmtree(self.path, ignore_errors=True)


async def _unless_stopped(start: Coroutine[Any, Any, None], stopping: asyncio.Event) -> bool:
    """Run `start` unless a stop signal comes first (then cancel it): whether it finished."""
    task = asyncio.ensure_future(start)
    stop = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if task.done():
        task.result()  # its error, if any
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return False


async def _until_first(*awaitables: Any) -> None:
    """Wait until one of them finishes; cancel the helpers among the rest."""
    helpers = [a for a in awaitables if not isinstance(a, asyncio.Task)]
    futures = [asyncio.ensure_future(a) for a in awaitables]
    await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
    for future, given in zip(futures, awaitables, strict=True):
        if given in helpers and not future.done():
            future.cancel()


async def _fatal(backend: Backend) -> None:
    """Returns once the database can no longer commit (another server took it over)."""
    assert backend.db is not None
    await backend.db.fatal_event.wait()


def _listen_all(settings: Settings) -> list[socket.socket]:
    """Listening sockets on the API and HTTP-action ports, bound before anything starts."""
    if settings.port == settings.site_port:
        raise BadRequest(
            f"--port and --site-port are both {settings.port}: give HTTP actions another port.",
            code="CannotListen",
        )
    api = _listen(settings, settings.port)
    try:
        return [api, _listen(settings, settings.site_port)]
    except BaseException:
        api.close()
        raise


def _listen(settings: Settings, port: int) -> socket.socket:
    """A listening socket on host:port, or a `BayouError` that says what holds it."""
    try:
        families = [a[0] for a in socket.getaddrinfo(settings.host, port, type=socket.SOCK_STREAM)]
        family = socket.AF_INET if socket.AF_INET in families else families[0]
        sock = socket.create_server((settings.host, port), family=family, backlog=2048)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise BadRequest(_port_taken(settings, port), code="PortInUse") from None
        raise BadRequest(
            f"Cannot listen on {settings.host}:{port} ({e.strerror or e}): check --host and "
            "--port / --site-port.",
            code="CannotListen",
        ) from None
    return sock


def _port_taken(settings: Settings, port: int) -> str:
    which = "--port / PORT" if port == settings.port else "--site-port / SITE_PROXY_PORT"
    holder = next(
        (r for r in server_records.live() if port in (r.port, r.site_port)),
        None,
    )
    by = (
        f"by another Bayou server, {holder.describe()}"
        if holder is not None
        else "by another program"
    )
    return (
        f"Port {port} on {settings.host} is already in use ({by}). Stop it, or pick another "
        f"port with {which}."
    )


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `run` stops both servers together."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def, override]
        yield


def _uvicorn_config(app: Any, settings: Settings, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        lifespan="off",
        log_config=None,
        access_log=False,  # bayou.server.access_log writes one line per request
        http="httptools",
        ws="websockets-sansio",
        # Above the sync layer's own limit, so that an oversized message gets a FatalError
        # that names the problem rather than a bare close 1009.
        ws_max_size=2 * MAX_MESSAGE_BYTES,
        # No permessage-deflate, as Convex's sync server: a compressed frame would expand to
        # ws_max_size on the event loop, and every official client works without it.
        ws_per_message_deflate=False,
        ws_ping_interval=None,
        timeout_graceful_shutdown=5,
    )


def event_loop_runner():  # type: ignore[no-untyped-def]
    """uvloop's event loop: it roughly halves the CPU the loop itself costs per request."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; stay usable without it
        return asyncio.run
    return uvloop.run


def _record(backend: Backend, settings: Settings) -> ServerRecord:
    assert backend.credentials is not None and backend.db is not None
    return server_records.new_record(
        port=settings.port,
        site_port=settings.site_port,
        url=settings.api_origin,
        data_dir=settings.data_dir,
        instance=backend.credentials.name,
        secret_fingerprint=backend.credentials.fingerprint,
        database=backend.db.persistence.description,
    )


def _banner(backend: Backend, settings: Settings) -> None:
    data_dir = Path(settings.data_dir).resolve()
    admin_key = f"{bayou_command()} admin-key --data-dir {shlex.quote(str(data_dir))}"
    if settings.log_format == "json":  # one line, one object, as every other line then
        log.info(
            "Bayou is running (instance %s)",
            backend.instance_name,
            extra={
                "fields": {
                    "event": "started",
                    "instance": backend.instance_name,
                    "api_origin": settings.api_origin,
                    "http_origin": settings.http_origin,
                    "dashboard": f"{settings.api_origin}/dashboard",
                    "database": backend.db.persistence.description if backend.db else None,
                    "files": backend.files.description if backend.files else None,
                    "admin_key_command": admin_key,
                }
            },
        )
        return
    lines = [
        f"Bayou is running (instance {backend.instance_name}).",
        f"  API (functions, sync, CLI):  {settings.api_origin}",
        f"  HTTP actions:                {settings.http_origin}   (also {settings.api_origin}/http)",
        f"  Dashboard:                   {settings.api_origin}/dashboard   (bayou dashboard)",
        f"  Database:                    {backend.db.persistence.description if backend.db else '?'}",
        f"  Files:                       {backend.files.description if backend.files else '?'}",
        "Use it from your Convex app's folder (these lines work in any folder):",
        f"  export CONVEX_SELF_HOSTED_URL={settings.api_origin}",
        f"  export CONVEX_SELF_HOSTED_ADMIN_KEY=$({admin_key})",
        "  npx convex deploy",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


def bayou_command() -> str:
    """How to run this `bayou` from any folder: `bayou` when that is the one on PATH, else
    its absolute path (a virtualenv that is not activated)."""
    script = Path(sys.argv[0])
    candidates = [script] if script.name == "bayou" else []
    candidates.append(Path(sys.executable).parent / "bayou")
    for candidate in candidates:
        if candidate.is_file():
            resolved = candidate.resolve()
            on_path = shutil.which("bayou")
            if on_path is not None and Path(on_path).resolve() == resolved:
                return "bayou"
            return shlex.quote(str(candidate.absolute()))
    return f"{shlex.quote(sys.executable)} -m bayou.cli"


class JsonFormatter(logging.Formatter):
    """`LOG_FORMAT=json`: each record one JSON object on one line — its time, level,
    logger and message, the structured `fields` a caller passed (`extra={"fields": …}`,
    e.g. the access log's), and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": record.created,
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update({k: v for k, v in fields.items() if k not in out})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str)


def configure_logging(settings: Settings) -> None:
    """Server logs on stderr, as LOG_LEVEL and LOG_FORMAT say: Bayou's, uvicorn's, Python
    warnings and any library's warnings all through one handler, so that with
    `LOG_FORMAT=json` every line is a JSON object."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.captureWarnings(True)  # `warnings.warn` → the `py.warnings` logger
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    # uvicorn's start and stop lines repeat the banner (twice: two ports) and make a
    # Ctrl-C noisy; its warnings and errors (e.g. an exception in a request) stay.
    uvicorn_level = level if level <= logging.DEBUG else max(level, logging.WARNING)
    for name, logger_level in (
        ("bayou", level),
        ("uvicorn", uvicorn_level),
        ("uvicorn.error", uvicorn_level),
        ("uvicorn.access", level),
    ):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(logger_level)
        logger.propagate = False
