"""`bayou admin-key`: mint an admin key for a deployment, from the credentials in its data
directory.

The key goes to stdout, alone, as the last line; everything said about it goes to stderr,
so `KEY=$(bayou admin-key)` captures just the key. The data directory is found as
`bayou.cli.data_dirs` says (`--data-dir`, `DATA_DIR`, the running server `--url` or
`CONVEX_SELF_HOSTED_URL` points at, `./bayou-data`, the only running server), so the
command works from a Convex app's folder too.

It only reads: a data directory without credentials is an error that says where it looked,
never a reason to create a secret (a key minted from a secret no server uses is refused).
When the running server was started with another instance name or secret than the stored
ones (`INSTANCE_NAME` / `INSTANCE_SECRET`), it says so instead of minting a refused key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from bayou.cli.options import (
    DataDirOption,
    InstanceNameOption,
    InstanceSecretOption,
    UrlForDataDirOption,
)

if TYPE_CHECKING:
    from bayou.auth.credentials import InstanceCredentials


def admin_key(
    data_dir: DataDirOption = None,
    url: UrlForDataDirOption = None,
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
    """Print an admin key for the running server (from any folder) or --data-dir."""
    from bayou.auth.admin_key import mint_admin_key
    from bayou.auth.credentials import InvalidCredentials, MissingCredentials, load_stored
    from bayou.cli.data_dirs import (
        DataDirNotFound,
        locate,
        running_servers_hint,
        server_mismatch,
    )

    if system_key and (read_only or member_id):
        _fail("--system-key cannot be combined with --read-only or --member-id")
    url, url_source = deployment_url(url)
    try:
        found = locate(
            data_dir,
            url=url,
            url_source=url_source,
            environ=os.environ,
            cwd=Path.cwd(),
            command="admin-key",
        )
    except DataDirNotFound as error:
        if instance_secret is None:
            _fail(error.message)
        found = None  # the explicit secret (and name) is all a key needs
    try:
        if found is None:
            assert instance_secret is not None
            credentials = explicit_credentials(instance_name, instance_secret)
        else:
            credentials = load_stored(found.path, name=instance_name, secret_hex=instance_secret)
    except MissingCredentials as error:
        assert found is not None
        _fail(
            f"No instance credentials in {error.secret_file.parent} (data directory "
            f"{found.describe()}): no server has started on it, and this command creates "
            f"none. Start `bayou serve --data-dir {found.path}` first, or point at the right "
            f"directory with --data-dir.\n{running_servers_hint(os.environ, 'admin-key')}"
        )
    except InvalidCredentials as error:
        _fail(str(error))
    except OSError as error:
        _fail(
            f"Cannot read the credentials in {found.path if found else '?'}: "
            f"{error.strerror or error}. Run this as the user that runs the server."
        )
    if found is not None and found.server is not None:
        mismatch = server_mismatch(found.server, credentials)
        if mismatch:
            _fail(mismatch)
    key = mint_admin_key(
        credentials.name,
        credentials.secret,
        read_only=read_only,
        system=system_key,
        member_id=member_id,
    )
    source = (
        f"the credentials in {found.describe()}"
        if found is not None
        else "INSTANCE_SECRET / --instance-secret (no data directory found)"
    )
    typer.echo(
        f"{_kind(read_only, system_key)} for instance '{credentials.name}', from {source}:",
        err=True,
    )
    typer.echo(key)


def deployment_url(flag: str | None) -> tuple[str | None, str]:
    """`--url`, else CONVEX_SELF_HOSTED_URL from the environment, .env.local or .env."""
    if flag:
        return flag, "--url"
    from bayou.cli.env_files import URL_VARIABLE, lookup_with_source

    value, source = lookup_with_source(URL_VARIABLE, os.environ, Path.cwd())
    return value, f"{URL_VARIABLE} from {source}" if value else URL_VARIABLE


def explicit_credentials(name: str | None, secret_hex: str) -> InstanceCredentials:
    """Credentials from explicit values alone (the name defaults as a server's would)."""
    from bayou.auth.credentials import (
        DEFAULT_INSTANCE_NAME,
        InstanceCredentials,
        check_instance_name,
        parse_instance_secret,
    )

    return InstanceCredentials(
        check_instance_name(name or DEFAULT_INSTANCE_NAME), parse_instance_secret(secret_hex)
    )


def _kind(read_only: bool, system_key: bool) -> str:
    if system_key:
        return "System key"
    return "Read-only admin key" if read_only else "Admin key"


def _fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)
