"""`bayou run`: run a function of the deployment, as `npx convex run` does (`/api/function`
with the admin key, so internal functions too), and print its result as JSON.

    bayou run users:create '{"name": "Ada", "email": "ada@example.com"}'
    bayou run api.messages.list '{"channel": "..."}'
    bayou run diagnostics:whoami --identity '{"subject": "user-1"}'

Arguments are Convex-encoded JSON (`{"$integer": ...}` for an int64). The result is
printed as Convex-encoded JSON on stdout (nothing for null); the function's log lines go
to stderr.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from bayou.cli.connection import AdminKeyOption, CliError, Connection, UrlOption
from bayou.cli.deploy import fail
from bayou.cli.log_format import format_log_line

EXTENSIONS = (".py", ".ts", ".js", ".tsx", ".jsx", ".mts", ".mjs", ".cts", ".cjs")


def parse_function_name(name: str, functions_dir: str = "convex/") -> str:
    """`messages:send` from `messages:send`, `api.messages.send`, `convex/messages.py:send`;
    a module alone names its `default` export."""
    if name.startswith(("api.", "internal.")):
        parts = name.split(".")
        if len(parts) < 3:
            raise CliError(f'Function name has too few parts: "{name}"')
        return "/".join(parts[1:-1]) + ":" + parts[-1]
    module, _, export = name.partition(":")
    for extension in EXTENSIONS:
        if module.endswith(extension):
            module = module.removesuffix(extension)
            break
    module = module.removeprefix(functions_dir)
    return f"{module}:{export or 'default'}"


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """A JSON object from the command line, or a `CliError` that shows the text."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f'Failed to parse {what} as JSON: "{text}"\n{error}') from None
    if not isinstance(value, dict):
        raise CliError(f'{what.capitalize()} must be a JSON object, got "{text}"')
    return value


def fake_identity(text: str) -> dict[str, Any]:
    """The identity `--identity` names, completed as `npx convex run --identity` does."""
    identity = parse_json_object(text, "identity")
    compact = json.dumps(identity, separators=(",", ":"), ensure_ascii=False)  # as JSON.stringify
    subject = str(identity.get("subject", _simple_hash(compact)))
    issuer = str(identity.get("issuer", "https://convex.test"))
    return {
        **identity,
        "subject": subject,
        "issuer": issuer,
        "tokenIdentifier": identity.get("tokenIdentifier", f"{issuer}|{subject}"),
    }


def _simple_hash(text: str) -> int:
    # The official CLI's 32-bit string hash, so both name an identity alike.
    h = 0
    units = text.encode("utf-16-le")  # JavaScript strings are UTF-16 code units
    for i in range(0, len(units), 2):
        h = (h * 31 + int.from_bytes(units[i : i + 2], "little")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def run(
    function_name: Annotated[
        str, typer.Argument(help="The function: `messages:send`, `api.messages.send`, …")
    ],
    args: Annotated[
        str, typer.Argument(help="Its arguments, a JSON object (Convex-encoded).")
    ] = "{}",
    identity: Annotated[
        str | None,
        typer.Option(
            "--identity",
            help='Run as this user: a JSON object, e.g. \'{"subject": "user-1", "name": "Ada"}\'.',
            show_default=False,
        ),
    ] = None,
    url: UrlOption = None,
    admin_key: AdminKeyOption = None,
) -> None:
    """Run a query, mutation or action (public or internal) and print its result."""
    try:
        connection = Connection.resolve(url, admin_key)
        path = parse_function_name(function_name)
        arguments = parse_json_object(args, "arguments")
        who = fake_identity(identity) if identity is not None else None
        response = connection.call(path, arguments, identity=who)
    except CliError as error:
        fail(error)
    for line in response.get("logLines") or []:
        typer.echo(format_log_line(line, path=path, udf_type=None), err=True)
    if response["status"] != "success":
        message = str(response.get("errorMessage", "")).strip()
        typer.echo(f'✖ Failed to run function "{function_name}":\n{message}', err=True)
        if "errorData" in response:
            typer.echo(f"Error data: {json.dumps(response['errorData'])}", err=True)
        raise typer.Exit(1)
    value = response.get("value")
    if value is not None:
        typer.echo(json.dumps(_as_javascript_prints(value), indent=2, ensure_ascii=False))


def _as_javascript_prints(value: Any) -> Any:
    """Whole floats as integers (`1`, not `1.0`), as `npx convex run` prints numbers."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_as_javascript_prints(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_javascript_prints(v) for k, v in value.items()}
    return value
