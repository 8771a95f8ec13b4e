"""MkDocs hooks: the pages that are generated, so that they cannot go stale.

    <!-- bayou:cli -->        every `bayou` command's `--help`, from the CLI itself
    <!-- bayou:settings -->   the settings table, from `bayou.config.SETTINGS`

`tests/docs` builds the site (strict) and checks that every command and setting is there.
"""

from __future__ import annotations

from typing import Any

CLI_MARKER = "<!-- bayou:cli -->"
SETTINGS_MARKER = "<!-- bayou:settings -->"


def cli_reference() -> str:
    """Markdown: one section per command (and per subcommand of a group), with its help."""
    import typer

    from bayou.cli.main import build_app

    root: Any = typer.main.get_command(build_app())
    sections: list[str] = []

    def render(command: Any, name: str, parent: Any) -> None:
        # Click's classes (typer vendors its own copy): a group lists its subcommands.
        ctx = command.context_class(command, info_name=name, parent=parent)
        if hasattr(command, "list_commands"):
            for sub in command.list_commands(ctx):
                render(command.get_command(ctx, sub), sub, ctx)
            return
        help_text = command.get_help(ctx).rstrip()
        sections.append(f"## `{ctx.command_path}`\n\n```text\n{help_text}\n```\n")

    render(root, "bayou", None)
    return "\n".join(sections)


def settings_reference() -> str:
    """Markdown: the settings table (the README's, from the same source)."""
    from bayou.config import settings_table

    return settings_table()


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_reference())
    return markdown
