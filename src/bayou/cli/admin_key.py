"""`bayou admin-key`: mint an admin key for the deployment whose state is in a data directory.

The key goes to stdout, alone, as the last line; everything said about it goes to stderr,
so `KEY=$(bayou admin-key --data-dir DIR)` captures just the key. The credentials are
those `bayou serve` uses for the same data directory and environment (created and stored
on first use), so the key works with that server across restarts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from bayou.auth.admin_key import mint_admin_key
from bayou.auth.credentials import (
    CREDENTIALS_DIRNAME,
    SECRET_FILENAME,
    InstanceCredentials,
    InvalidCredentials,
    load_or_create,
)
from bayou.cli.options import (
    DEFAULT_DATA_DIR,
    DataDirOption,
    InstanceNameOption,
    InstanceSecretOption,
)


def admin_key(
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only",
            help="Mint a read-only key: it can view data, logs and settings and run queries, "
            "but not deploy, write, or run mutations and actions.",
        ),
    ] = False,
    system_key: Annotated[
        bool,
        typer.Option(
            "--system-key",
            help="Mint a system key (operations done by the deployment itself), not an admin key.",
        ),
    ] = False,
    member_id: Annotated[
        int,
        typer.Option(
            "--member-id",
            min=0,
            help="Dashboard member the key is for, recorded as the actor; 0 is a generic key.",
        ),
    ] = 0,
    instance_name: InstanceNameOption = None,
    instance_secret: InstanceSecretOption = None,
) -> None:
    """Mint an admin key (printed alone on stdout) for the deployment in --data-dir."""
    if system_key and (read_only or member_id):
        _fail("--system-key cannot be combined with --read-only or --member-id")
    secret_file = data_dir / CREDENTIALS_DIRNAME / SECRET_FILENAME
    new_instance = not secret_file.exists()
    try:
        credentials = load_or_create(data_dir, name=instance_name, secret_hex=instance_secret)
    except InvalidCredentials as error:
        _fail(str(error))
    key = mint_admin_key(
        credentials.name,
        credentials.secret,
        read_only=read_only,
        system=system_key,
        member_id=member_id,
    )
    if new_instance:
        stored = "the given instance secret" if instance_secret else "a new random instance secret"
        typer.echo(
            f"No credentials were stored in {data_dir.resolve()}: stored {stored} there. "
            "Start the server on this data directory for the key to work.",
            err=True,
        )
    _explain(credentials, data_dir, kind=_kind(read_only, system_key))
    typer.echo(key)


def _kind(read_only: bool, system_key: bool) -> str:
    if system_key:
        return "System key"
    return "Read-only admin key" if read_only else "Admin key"


def _explain(credentials: InstanceCredentials, data_dir: Path, *, kind: str) -> None:
    typer.echo(
        f"{kind} for instance '{credentials.name}' (data directory {data_dir.resolve()}):",
        err=True,
    )


def _fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)
