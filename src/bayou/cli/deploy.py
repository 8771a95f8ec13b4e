"""`bayou deploy`: push a folder of Python functions to a deployment, as `npx convex deploy`
pushes TypeScript ones (same endpoints, same checks, same all-or-nothing swap).

    export CONVEX_SELF_HOSTED_URL=http://127.0.0.1:3210
    export CONVEX_SELF_HOSTED_ADMIN_KEY=$(bayou admin-key --data-dir bayou-data)
    bayou deploy                      # pushes ./convex
    bayou deploy --functions backend  # another folder
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from bayou.cli.connection import AdminKeyOption, CliError, Connection, UrlOption
from bayou.cli.pusher import Push, PushResult

FunctionsOption = Annotated[
    Path,
    typer.Option(
        "--functions",
        help="The folder of Python function modules.",
        file_okay=False,
    ),
]


def deploy(
    functions: FunctionsOption = Path("convex"),
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Analyze and report what would change; change nothing."),
    ] = False,
    url: UrlOption = None,
    admin_key: AdminKeyOption = None,
) -> None:
    """Push the Python functions folder (schema, indexes, functions) to the deployment."""
    try:
        connection = Connection.resolve(url, admin_key)
        result = Push(connection, functions, dry_run=dry_run, progress=_progress).run()
    except CliError as error:
        fail(error)
    print_result(result, connection.url)


def _progress(message: str) -> None:
    typer.echo(message, err=True)


def print_result(result: PushResult, url: str) -> None:
    """The change report on stdout, then the closing line."""
    for line in result.lines():
        typer.echo(line)
    sent = f"{result.modules_sent} of {result.modules_total} modules sent"
    if result.dry_run:
        typer.echo(
            f"✔ Dry run: {result.functions_total} functions analyzed ({sent}); nothing changed."
        )
    else:
        typer.echo(
            f"✔ Deployed {result.functions_total} functions to {url} ({sent}, "
            f"{result.seconds:.1f}s)"
        )


def fail(error: CliError) -> NoReturn:
    """Print the error on stderr and exit with status 1."""
    typer.echo(f"✖ Error: {error.message}", err=True)
    raise typer.Exit(1)
