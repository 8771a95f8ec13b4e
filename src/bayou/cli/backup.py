"""`bayou backup now | list`: backups of a running deployment, as ZIPs in Convex's
snapshot-export layout (file storage included), in the server's backup directory
(`BAYOU_BACKUP_DIR`, default `<data dir>/backups`). Scheduled backups are configured on
the server (`BAYOU_BACKUP_SCHEDULE`, `BAYOU_BACKUP_KEEP`); `bayou restore FILE` reads one
back.

    bayou backup now
    bayou backup list
"""

from __future__ import annotations

import typer

from bayou.cli.connection import AdminKeyOption, CliError, Connection, UrlOption
from bayou.cli.deploy import fail

backup = typer.Typer(
    name="backup",
    help="Back up the deployment now, or list its backups.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@backup.command("now")
def now(url: UrlOption = None, admin_key: AdminKeyOption = None) -> None:
    """Write a backup (documents and files) now; prints its path on the server."""
    from rich.console import Console

    console = Console(stderr=True)
    try:
        connection = Connection.resolve(url, admin_key)
        with console.status("Backing up the deployment…"):
            answer = connection.request("POST", "/api/bayou/backups", timeout=24 * 3600)
    except CliError as error:
        fail(error)
    made = answer["backup"]
    console.print(f"✔ Backup written ({_size(made['size'])})")
    typer.echo(made["path"])


@backup.command("list")
def list_(url: UrlOption = None, admin_key: AdminKeyOption = None) -> None:
    """List the backups, oldest first: time, size and path on the server."""
    try:
        answer = Connection.resolve(url, admin_key).request("GET", "/api/bayou/backups")
    except CliError as error:
        fail(error)
    backups = answer["backups"]
    if not backups:
        typer.echo(f"No backups in {answer['directory']}.", err=True)
    for b in backups:
        typer.echo(f"{b['created']}  {_size(b['size']):>10}  {b['path']}")
