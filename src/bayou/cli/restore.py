"""`bayou restore FILE`: import a backup (or any snapshot-export ZIP) into a running
deployment through the import protocol `npx convex import` uses: the file is uploaded in
parts with a progress bar, checked by the server, and imported in one commit.

    bayou restore backups/backup-20260101T030000Z-….zip               into an empty deployment
    bayou restore backup.zip --replace-all                            replace everything (asks first)
    bayou restore backup.zip --replace-all -y                         without asking

Environment variables are not part of a snapshot (as with Convex): set them with
`bayou env set`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from bayou.cli.connection import AdminKeyOption, CliError, Connection, UrlOption
from bayou.cli.deploy import fail

PART_SIZE = 5 * 1024 * 1024


def restore(
    file: Annotated[Path, typer.Argument(help="The backup ZIP to restore.")],
    replace_all: Annotated[
        bool,
        typer.Option(
            "--replace-all",
            help="Replace every table and the files (default: the deployment must be empty).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOption = None,
    admin_key: AdminKeyOption = None,
) -> None:
    """Restore a backup ZIP into the deployment."""
    if not file.is_file():
        fail(CliError(f"{file} does not exist or is not a file."))
    try:
        connection = Connection.resolve(url, admin_key)
        import_id = _upload(connection, file, "replaceAll" if replace_all else "requireEmpty")
        state = _wait(connection, import_id, ("waiting_for_confirmation", "completed", "failed"))
        if state["state"] == "waiting_for_confirmation":
            typer.echo(state.get("message_to_confirm") or "", err=True)
            manual = state.get("require_manual_confirmation") and not yes
            if manual and not typer.confirm("Restore this backup?", default=False):
                connection.request("POST", "/api/cancel_import", {"importId": import_id})
                fail(CliError("Restore canceled: nothing was changed."))
            connection.request("POST", "/api/perform_import", {"importId": import_id})
            state = _wait(connection, import_id, ("completed", "failed"))
    except CliError as error:
        fail(error)
    if state["state"] == "failed":
        fail(CliError(f"Restoring {file} failed: {state.get('error_message')}"))
    rows = state.get("num_rows_written")
    typer.echo(
        f"✔ Restored {int(getattr(rows, 'value', rows) or 0)} documents from {file}.", err=True
    )


def _upload(connection: Connection, file: Path, mode: str) -> str:
    import httpx
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    token = connection.request("POST", "/api/import/start_upload")["uploadToken"]
    parts: list[Any] = []
    size = file.stat().st_size
    headers = {
        "Authorization": connection.authorization(),
        "Content-Type": "application/octet-stream",
    }
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with (
        Progress(*columns, transient=True) as progress,
        file.open("rb") as f,
        httpx.Client(timeout=600) as http,
    ):
        task = progress.add_task("Uploading", total=size)
        number = 1
        while chunk := f.read(PART_SIZE):
            response = http.post(
                f"{connection.url}/api/import/upload_part",
                params={"uploadToken": token, "partNumber": number},
                content=chunk,
                headers=headers,
            )
            if response.status_code != 200:
                raise CliError(f"Uploading part {number} failed: {response.text}")
            parts.append(response.json())
            progress.advance(task, len(chunk))
            number += 1
    answer = connection.request(
        "POST",
        "/api/import/finish_upload",
        {"import": {"format": "zip", "mode": mode}, "uploadToken": token, "partTokens": parts},
    )
    return answer["importId"]


def _wait(connection: Connection, import_id: str, stable: tuple[str, ...]) -> dict[str, Any]:
    from rich.console import Console

    from bayou.values import json as vjson

    with Console(stderr=True).status("Checking and importing…"):
        while True:
            response = connection.call(
                "_system/cli/queryImport", {"importId": import_id}, endpoint="/api/query"
            )
            if response.get("status") != "success":
                raise CliError(str(response.get("errorMessage")))
            row = vjson.from_json(response["value"])
            if isinstance(row, dict) and row["state"]["state"] in stable:
                return row["state"]
            time.sleep(0.2)
