"""`bayou env list | get | set | remove`: the deployment's environment variables, as
`npx convex env` manages them (`/api/list_environment_variables`,
`/api/update_environment_variables`). Functions read them in `os.environ` (Python) or
`process.env` (TypeScript).

    bayou env set OPENAI_KEY sk-...     (or: bayou env set OPENAI_KEY=sk-...)
    bayou env get OPENAI_KEY
    bayou env list
    bayou env remove OPENAI_KEY
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

from bayou.cli.connection import AdminKeyOption, CliError, Connection, UrlOption
from bayou.cli.deploy import fail

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

env = typer.Typer(
    name="env",
    help="List, read, set and remove the deployment's environment variables.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _variables(connection: Connection) -> dict[str, str]:
    answer = connection.request("GET", "/api/list_environment_variables")
    variables = (answer or {}).get("environmentVariables")
    if not isinstance(variables, dict):
        raise CliError(f"Unexpected answer from list_environment_variables: {answer!r}")
    return {str(k): str(v) for k, v in variables.items()}


def _change(connection: Connection, name: str, value: str | None) -> None:
    connection.request(
        "POST", "/api/update_environment_variables", {"changes": [{"name": name, "value": value}]}
    )


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise CliError(
            f"Invalid environment variable name {name!r}: use letters, digits and underscores, "
            "not starting with a digit."
        )


NameArgument = Annotated[str, typer.Argument(help="The variable's name.")]


@env.command("list")
def list_(url: UrlOption = None, admin_key: AdminKeyOption = None) -> None:
    """Print every variable as NAME=value, sorted by name."""
    try:
        variables = _variables(Connection.resolve(url, admin_key))
    except CliError as error:
        fail(error)
    if not variables:
        typer.echo("No environment variables set.", err=True)
    for name in sorted(variables):
        typer.echo(f"{name}={variables[name]}")


@env.command("get")
def get(name: NameArgument, url: UrlOption = None, admin_key: AdminKeyOption = None) -> None:
    """Print the value of one variable."""
    try:
        variables = _variables(Connection.resolve(url, admin_key))
        if name not in variables:
            raise CliError(f'Environment variable "{name}" not found.')
    except CliError as error:
        fail(error)
    typer.echo(variables[name])


@env.command("set")
def set_(
    name: Annotated[str, typer.Argument(help="The name, or NAME=value.")],
    value: Annotated[str | None, typer.Argument(help="The value.")] = None,
    url: UrlOption = None,
    admin_key: AdminKeyOption = None,
) -> None:
    """Set a variable (`NAME value` or `NAME=value`); running functions see it at once."""
    if value is None:
        if "=" not in name:
            fail(
                CliError("Give a value: `bayou env set NAME value` or `bayou env set NAME=value`.")
            )
        name, _, value = name.partition("=")
    try:
        _check_name(name)
        _change(Connection.resolve(url, admin_key), name, value)
    except CliError as error:
        fail(error)
    typer.echo(f"✔ Successfully set {name}")


@env.command("remove")
def remove(name: NameArgument, url: UrlOption = None, admin_key: AdminKeyOption = None) -> None:
    """Remove a variable (removing one that is not set is not an error)."""
    try:
        _change(Connection.resolve(url, admin_key), name, None)
    except CliError as error:
        fail(error)
    typer.echo(f"✔ Successfully unset {name}")
