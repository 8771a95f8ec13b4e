"""`bayou dev`: keep a deployment in step with a folder of Python functions while you work.

It pushes the folder (like `bayou deploy`), then watches it: every save pushes again, an
error (a syntax error, a module that raises at import, a schema the data violates) is
printed and the previous code keeps running until the next save fixes it. Meanwhile the
deployment's function logs are printed as they arrive, as `npx convex dev` tails them.

    bayou dev                    watch ./convex, tail the logs (Ctrl-C to stop)
    bayou dev --once             push once and exit (status 1 if the push failed)
    bayou dev --no-tail-logs     push on save without printing the logs
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from bayou.cli.connection import AdminKeyOption, CliError, Connection, UrlOption
from bayou.cli.deploy import FunctionsOption, fail
from bayou.cli.log_format import format_entry
from bayou.cli.logs import LogTail
from bayou.cli.pusher import Push

DEBOUNCE_MS = 200
WATCH_TICK_MS = 300


def dev(
    functions: FunctionsOption = Path("convex"),
    once: Annotated[bool, typer.Option("--once", help="Push once, then exit.")] = False,
    tail_logs: Annotated[
        bool,
        typer.Option("--tail-logs/--no-tail-logs", help="Print the function logs as they come."),
    ] = True,
    url: UrlOption = None,
    admin_key: AdminKeyOption = None,
) -> None:
    """Push the functions folder on every save and tail the logs (Ctrl-C to stop)."""
    try:
        connection = Connection.resolve(url, admin_key)
    except CliError as error:
        fail(error)
    ok = push_and_report(connection, functions)
    if once:
        raise typer.Exit(0 if ok else 1)
    stop = threading.Event()
    if tail_logs:
        threading.Thread(
            target=_tail, args=(connection, stop), name="bayou-dev-logs", daemon=True
        ).start()
    try:
        _watch(connection, functions, stop)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()


def push_and_report(connection: Connection, functions: Path) -> bool:
    """Push once; print what changed or why it failed. True if it deployed."""
    try:
        result = Push(connection, functions).run()
    except CliError as error:
        typer.echo(f"✖ {time.strftime('%H:%M:%S')} Error: {error.message}", err=True)
        return False
    for line in result.lines():
        typer.echo(line, err=True)
    typer.echo(
        f"✔ {time.strftime('%H:%M:%S')} Convex functions ready! ({result.seconds:.1f}s)", err=True
    )
    return True


def _watch(connection: Connection, functions: Path, stop: threading.Event) -> None:
    import watchfiles

    announced = False
    for changes in watchfiles.watch(
        functions,
        watch_filter=watchfiles.PythonFilter(),
        debounce=DEBOUNCE_MS,
        stop_event=stop,
        raise_interrupt=True,
        rust_timeout=WATCH_TICK_MS,
        yield_on_timeout=True,  # the first (empty) yield: the watcher is set up
    ):
        if not announced:
            typer.echo(f"Watching {functions}/ for changes...", err=True)
            announced = True
        if changes:
            push_and_report(connection, functions)


def _tail(connection: Connection, stop: threading.Event) -> None:
    def emit(entry: dict[str, Any]) -> None:
        for line in format_entry(entry):
            typer.echo(line)

    try:
        LogTail(connection).follow(emit, should_stop=stop.is_set)
    except CliError as error:
        typer.echo(f"✖ Stopped tailing the logs: {error.message}", err=True)
