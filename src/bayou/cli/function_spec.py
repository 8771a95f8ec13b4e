"""`bayou function-spec`: the deployment's functions with their argument and return
validators, as the JSON `npx convex function-spec` prints (`{url, functions}`), read from
the system queries `_system/cli/modules:apiSpec` and `_system/cli/convexUrl:cloudUrl`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from bayou.cli.connection import AdminKeyOption, CliError, Connection, UrlOption
from bayou.cli.deploy import fail


def function_spec(
    file: Annotated[
        bool,
        typer.Option("--file", help="Write the spec to function_spec_<timestamp>.json instead."),
    ] = False,
    url: UrlOption = None,
    admin_key: AdminKeyOption = None,
) -> None:
    """Print every deployed function with its visibility and validators, as JSON."""
    try:
        connection = Connection.resolve(url, admin_key)
        functions = connection.system_query("_system/cli/modules:apiSpec")
        cloud_url = connection.system_query("_system/cli/convexUrl:cloudUrl")
    except CliError as error:
        fail(error)
    output = json.dumps({"url": cloud_url, "functions": functions}, indent=2, ensure_ascii=False)
    if file:
        name = f"function_spec_{int(time.time() * 1000)}.json"
        Path(name).write_text(output)
        typer.echo(f"Wrote function spec to {name}")
    else:
        typer.echo(output)
