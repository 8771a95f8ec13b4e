"""The `bayou` command: one module per subcommand under `bayou.cli`, listed in COMMANDS.

To add a command, write `bayou/cli/<name>.py` with a function whose parameters are Typer
options (shared ones are in `bayou.cli.options`), or a `typer.Typer` for a group of
subcommands, and add one line to COMMANDS::

    ("serve", "bayou.cli.serve:serve"),

Modules are imported when the app is built, so a command's `--help` comes from its own
docstring and annotations.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from typing import Any

import typer

COMMANDS: tuple[tuple[str, str], ...] = (
    ("serve", "bayou.cli.serve:serve"),
    ("admin-key", "bayou.cli.admin_key:admin_key"),
    ("doctor", "bayou.cli.doctor:doctor"),
    ("deploy", "bayou.cli.deploy:deploy"),
    ("dev", "bayou.cli.dev:dev"),
    ("run", "bayou.cli.run:run"),
    ("env", "bayou.cli.env:env"),
    ("logs", "bayou.cli.logs:logs"),
    ("function-spec", "bayou.cli.function_spec:function_spec"),
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
    )
    app.callback()(_configure_logging)
    for name, target in COMMANDS:
        command = _load(target)
        if isinstance(command, typer.Typer):  # a group of subcommands (`bayou env set …`)
            app.add_typer(command, name=name)
        else:
            app.command(name)(command)
    return app


def _configure_logging() -> None:
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


app = build_app()
"""The console-script entry point (`bayou = "bayou.cli.main:app"`)."""
