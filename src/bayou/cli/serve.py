"""`bayou serve`: run the backend — the API on --port, HTTP actions on --site-port.

Its flags are the settings table (`bayou.config.SETTINGS`): one flag per setting, each with
the environment variable Convex's Docker image uses; flags win over the environment, which
wins over defaults.

What the user sees: a banner once both ports listen (with the commands that reach the
server from any folder), nothing when it stops (Ctrl-C, SIGTERM), and for a failure to
start or a fatal error while running one line, `bayou serve: <cause and fix>`, and exit
status 1 (2 for a bad setting). `LOG_LEVEL=debug` adds tracebacks and access logs.

The ports are bound first, before anything starts, so a taken port fails at once; while it
runs, the server keeps a record (`bayou.cli.server_records`) by which `bayou admin-key` and
`bayou doctor` find its data directory from another folder.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import os
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from bayou.config import SETTINGS, Setting, Settings

log = logging.getLogger("bayou")


def serve(**flags: Any) -> None:
    """Start Bayou on its embedded defaults (SQLite and files in --data-dir) or PostgreSQL."""
    from bayou.config import from_sources
    from bayou.errors import BayouError

    as_json = (flags.get("log_format") or os.environ.get("LOG_FORMAT")) == "json"
    try:
        settings = from_sources(flags, os.environ)
    except BayouError as e:
        _fail(e.message, status=2, as_json=as_json)
    # Absolute from here on: the banner, the server record and messages name it in full.
    settings = dataclasses.replace(settings, data_dir=Path(settings.data_dir).absolute())
    try:
        # Here, not at the top: `bayou --help` and the other commands need none of it.
        from bayou.cli.server_process import configure_logging, event_loop_runner, run

        configure_logging(settings)
        event_loop_runner()(run(settings))
    except BayouError as e:
        _fail(e.message, as_json=as_json)
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were installed
        raise typer.Exit(130) from None
    except OSError as e:
        log.debug("bayou serve failed", exc_info=True)
        _fail(_os_error(e, settings), as_json=as_json)
    except Exception as e:  # one line for the user; the traceback at LOG_LEVEL=debug
        log.debug("bayou serve failed", exc_info=True)
        _fail(f"{type(e).__name__}: {e} (LOG_LEVEL=debug shows where)", as_json=as_json)


def _os_error(e: OSError, settings: Settings) -> str:
    what = f"{e.strerror or e}" + (f": {e.filename}" if e.filename else "")
    if e.filename and str(e.filename).startswith(str(settings.data_dir)):
        return (
            f"Cannot use the data directory {settings.data_dir} ({what}). Give --data-dir / "
            "DATA_DIR a directory this user may create and write to."
        )
    return f"{what} (LOG_LEVEL=debug shows where)"


def _serve_signature() -> inspect.Signature:
    """`serve`'s parameters: one `--flag` per setting, None when not given."""
    return inspect.Signature(
        [
            inspect.Parameter(
                s.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[s.kind | None, _option(s)],
            )
            for s in SETTINGS
        ]
    )


def _option(s: Setting) -> Any:
    env = f" Env: {s.env}." if s.env else ""
    default = s.default_text.replace("`", "")
    return typer.Option(
        f"{s.flag}/--no-{s.flag[2:]}" if s.kind is bool else s.flag,
        help=f"{s.help.replace('`', '')}{env} Default: {default}.",
        show_default=False,
        file_okay=s.kind is not Path,
    )


serve.__signature__ = _serve_signature()  # type: ignore[attr-defined]


def _fail(message: str, *, status: int = 1, as_json: bool = False) -> NoReturn:
    if as_json:  # LOG_FORMAT=json: this last line is a JSON object too
        line = {"ts": time.time(), "level": "error", "logger": "bayou", "msg": message}
        typer.echo(json.dumps({**line, "event": "failed"}), err=True)
    else:
        typer.echo(f"bayou serve: {message}", err=True)
    raise typer.Exit(status)
