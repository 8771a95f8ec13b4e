"""`bayou serve`: run the backend — the API on --port, HTTP actions on --site-port.

Every flag has the environment variable Convex's Docker image uses; flags win over the
environment, which wins over defaults (the settings table is `bayou.config.SETTINGS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from bayou.backend import Backend
from bayou.cli.options import (
    DEFAULT_DATA_DIR,
    DataDirOption,
    InstanceNameOption,
    InstanceSecretOption,
)
from bayou.config import Settings, from_sources
from bayou.errors import BayouError
from bayou.server.app import api_app, site_app
from bayou.sync.limits import MAX_MESSAGE_BYTES

log = logging.getLogger("bayou")


def serve(
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    host: Annotated[
        str, typer.Option(help="Interface to listen on; 0.0.0.0 for every interface.")
    ] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(help="API port (functions, sync, CLI). Env: PORT.", show_default="3210"),
    ] = None,
    site_port: Annotated[
        int | None,
        typer.Option(help="HTTP actions port. Env: SITE_PROXY_PORT.", show_default="3211"),
    ] = None,
    instance_name: InstanceNameOption = None,
    instance_secret: InstanceSecretOption = None,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL server URL (no database name). Env: POSTGRES_URL.", show_default=False
        ),
    ] = None,
) -> None:
    """Start Bayou on its embedded defaults (SQLite and files in --data-dir) or PostgreSQL."""
    flags = {
        "data_dir": data_dir
        if data_dir != DEFAULT_DATA_DIR or "DATA_DIR" not in os.environ
        else None,
        "host": host,
        "port": port,
        "site_port": site_port,
        "instance_name": instance_name,
        "instance_secret": instance_secret,
        "postgres_url": postgres_url,
    }
    try:
        settings = from_sources(flags, os.environ)
    except BayouError as e:
        typer.echo(f"bayou serve: {e.message}", err=True)
        raise typer.Exit(2) from None
    _configure_logging(settings)
    try:
        _event_loop_runner()(run(settings))
    except BayouError as e:
        typer.echo(f"bayou serve: {e.message}", err=True)
        raise typer.Exit(1) from None


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `run` stops both servers together."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


async def run(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    backend = Backend(settings)
    await backend.start()
    try:
        servers = [
            _Server(_uvicorn_config(api_app(backend), settings, settings.port)),
            _Server(_uvicorn_config(site_app(backend), settings, settings.site_port)),
        ]
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, _stopper(backend, servers))
        tasks = [asyncio.create_task(s.serve()) for s in servers]
        watchdog = asyncio.create_task(_stop_when_fatal(backend, servers))
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.01)
        if all(s.started for s in servers):
            _banner(backend, settings)
            if ready is not None:
                ready.set()
        else:
            for s in servers:
                s.should_exit = True
        await asyncio.gather(*tasks)
        watchdog.cancel()
        if backend.db is not None and backend.db.fatal is not None:
            raise backend.db.fatal
        if not all(s.started for s in servers):
            raise BayouError(
                f"Could not listen on {settings.host}:{settings.port} and :{settings.site_port} "
                "(is another server using the port? pick others with --port / --site-port)"
            )
    finally:
        await backend.stop()


def _stopper(backend: Backend, servers: list[_Server]):
    def stop() -> None:
        backend.logs.close()  # long polls would hold the graceful shutdown for seconds
        for s in servers:
            s.should_exit = True

    return stop


async def _stop_when_fatal(backend: Backend, servers: list[_Server]) -> None:
    """Stop serving if the database can no longer commit (another server took it over)."""
    assert backend.db is not None
    await backend.db.fatal_event.wait()
    log.critical("stopping: %s", backend.db.fatal)
    for s in servers:
        s.should_exit = True


def _uvicorn_config(app, settings: Settings, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        lifespan="off",
        log_config=None,
        access_log=settings.log_level == "debug",
        http="httptools",
        ws="websockets-sansio",
        # Above the sync layer's own limit, so that an oversized message gets a FatalError
        # that names the problem rather than a bare close 1009.
        ws_max_size=2 * MAX_MESSAGE_BYTES,
        ws_ping_interval=None,
        timeout_graceful_shutdown=5,
    )


def _event_loop_runner():
    """uvloop's event loop: it roughly halves the CPU the loop itself costs per request."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; stay usable without it
        return asyncio.run
    return uvloop.run


def _banner(backend: Backend, settings: Settings) -> None:
    data_dir = Path(settings.data_dir).resolve()
    lines = [
        f"Bayou is running (instance {backend.instance_name}).",
        f"  API (functions, sync, CLI):  {settings.api_origin}",
        f"  HTTP actions:                {settings.http_origin}   (also {settings.api_origin}/http)",
        f"  Database:                    {backend.db.persistence.description if backend.db else '?'}",
        f"  Files:                       {data_dir / 'storage'}",
        "Use it from the Convex CLI:",
        f"  export CONVEX_SELF_HOSTED_URL={settings.api_origin}",
        f"  export CONVEX_SELF_HOSTED_ADMIN_KEY=$(bayou admin-key --data-dir {data_dir})",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def _configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    for name in ("bayou", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False
