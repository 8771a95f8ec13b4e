"""The `bayou` command: one module per subcommand under `bayou.cli`, listed in COMMANDS.

To add a command, write `bayou/cli/<name>.py` with a function whose parameters are Typer
options (shared ones are in `bayou.cli.options`), or a `typer.Typer` for a group of
subcommands, and add one line to COMMANDS::

    ("serve", "bayou.cli.serve:serve"),

Modules are imported when the app is built, so a command's `--help` comes from its own
docstring and annotations. That makes every module's top-level imports part of every
command's start-up (`bayou --help` included): a command module imports at the top only
what its signature needs (typer, its options) and the rest inside the function that uses
it. `bench/startup_bench.py` measures the result.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def _quiet_interrupt() -> Iterator[None]:
    """Ctrl-C while the command is still loading exits with status 130, not a traceback
    from the middle of an import (once a command runs, typer does the same)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:
        signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    try:
        yield
    finally:
        if previous is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous)


with _quiet_interrupt():
    import typer

COMMANDS: tuple[tuple[str, str], ...] = (
    ("init", "bayou.cli.init:init"),
    ("serve", "bayou.cli.serve:serve"),
    ("admin-key", "bayou.cli.admin_key:admin_key"),
    ("doctor", "bayou.cli.doctor:doctor"),
    ("deploy", "bayou.cli.deploy:deploy"),
    ("dev", "bayou.cli.dev:dev"),
    ("run", "bayou.cli.run:run"),
    ("env", "bayou.cli.env:env"),
    ("auth", "bayou.cli.auth:auth"),
    ("logs", "bayou.cli.logs:logs"),
    ("function-spec", "bayou.cli.function_spec:function_spec"),
    ("dashboard", "bayou.cli.dashboard:dashboard"),
    ("backup", "bayou.cli.backup:backup"),
    ("restore", "bayou.cli.restore:restore"),
)
"""(command name, "module:function") for every `bayou` subcommand."""


def build_app() -> typer.Typer:
    """A fresh `bayou` Typer app with every command of COMMANDS registered."""
    app = typer.Typer(
        name="bayou",
        help="Bayou: a self-hosted reactive backend that speaks Convex's protocols.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,  # plain help: rendering it with rich costs ~0.1 s a command
    )
    app.callback()(_configure_logging)
    for name, target in COMMANDS:
        command = _load(target)
        if isinstance(command, typer.Typer):  # a group of subcommands (`bayou env set …`)
            app.add_typer(command, name=name)
        else:
            app.command(name)(command)
    return app


def _print_version(value: bool) -> None:
    if value:
        from bayou import __version__

        typer.echo(f"bayou {__version__}")
        raise typer.Exit()


def _configure_logging(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print Bayou's version and exit.",
        callback=_print_version,
        is_eager=True,
    ),
) -> None:
    """Bayou: a self-hosted reactive backend that speaks Convex's protocols."""
    # Warnings (e.g. credentials that differ from the stored ones) reach the user on
    # stderr, never stdout, which commands keep for their output.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("bayou")
    if not root.handlers:
        root.addHandler(handler)
    if root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)


def _load(target: str) -> Callable[..., Any] | typer.Typer:
    module_name, _, function_name = target.partition(":")
    found: Callable[..., Any] | typer.Typer = getattr(
        importlib.import_module(module_name), function_name
    )
    return found


with _quiet_interrupt():
    app = build_app()
"""The console-script entry point (`bayou = "bayou.cli.main:app"`)."""
