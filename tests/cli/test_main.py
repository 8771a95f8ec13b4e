"""The `bayou` app: every registered command is reachable and documented."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from bayou.cli.main import COMMANDS, build_app

BayouRunner = Callable[..., subprocess.CompletedProcess[str]]  # the run_bayou fixture


def test_help_lists_every_registered_command(run_bayou: BayouRunner) -> None:
    result = run_bayou("--help")
    assert result.returncode == 0
    for name, _ in COMMANDS:
        assert name in result.stdout


def test_every_command_has_a_docstring() -> None:
    app = build_app()
    groups = {info.name: info.typer_instance for info in app.registered_groups}
    commands = {info.name: info for info in app.registered_commands}
    assert sorted([*commands, *groups]) == sorted(name for name, _ in COMMANDS)
    assert all(info.callback and info.callback.__doc__ for info in commands.values())
    for group in groups.values():  # `bayou env …`: the group and each subcommand
        assert group is not None and group.info.help
        assert all(sub.callback and sub.callback.__doc__ for sub in group.registered_commands)


def test_the_app_can_be_built_twice() -> None:
    assert build_app() is not build_app()
