"""`bayou logs`: stream the deployment's function logs, as `npx convex logs` does (a long
poll of `/api/stream_function_logs`), until interrupted.

    bayou logs                  new executions from now on
    bayou logs --history 20     the last 20 first
    bayou logs --success        also a line per successful execution
    bayou logs --jsonl          raw entries, one JSON object a line
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Annotated, Any

import typer

from bayou.cli.connection import AdminKeyOption, CliError, Connection, UrlOption
from bayou.cli.deploy import fail
from bayou.cli.log_format import format_entry

POLL_TIMEOUT_S = 90.0  # above the server's 60 s long poll
MAX_BACKOFF_S = 10.0


class LogTail:
    """Follows the log stream of one deployment from a cursor."""

    def __init__(self, connection: Connection, *, cursor: float = 0.0) -> None:
        self.connection = connection
        self.cursor = cursor

    def poll(self) -> list[dict[str, Any]]:
        """The entries after the cursor (waiting up to the server's long-poll time)."""
        answer = self.connection.request(
            "GET", f"/api/stream_function_logs?cursor={self.cursor}", timeout=POLL_TIMEOUT_S
        )
        if not isinstance(answer, dict):
            raise CliError(f"Unexpected answer from stream_function_logs: {answer!r}")
        self.cursor = float(answer.get("newCursor", self.cursor))
        return list(answer.get("entries") or [])

    def follow(
        self,
        emit: Callable[[dict[str, Any]], None],
        *,
        history: int = 0,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        """Call `emit` for every new entry (after the last `history` ones) until
        `should_stop()`; transient failures back off and retry, refused keys raise."""
        first = True
        failures = 0
        while not should_stop():
            try:
                entries = self.poll()
            except CliError as error:
                if error.status in (401, 403):
                    raise
                failures += 1
                time.sleep(min(0.5 * 2**failures, MAX_BACKOFF_S))
                continue
            failures = 0
            if first:
                first = False
                entries = entries[len(entries) - history :] if history > 0 else []
            for entry in entries:
                emit(entry)


def logs(
    history: Annotated[
        int, typer.Option("--history", min=0, help="Show this many recent executions first.")
    ] = 0,
    success: Annotated[
        bool, typer.Option("--success", help="Also print a line for each successful execution.")
    ] = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="Print the raw entries as JSON lines.")
    ] = False,
    url: UrlOption = None,
    admin_key: AdminKeyOption = None,
) -> None:
    """Watch the function logs of the deployment (Ctrl-C to stop)."""

    def emit(entry: dict[str, Any]) -> None:
        if jsonl:
            typer.echo(json.dumps(entry))
            return
        for line in format_entry(entry, success=success):
            typer.echo(line)

    try:
        connection = Connection.resolve(url, admin_key)
        typer.echo(f"Watching logs of {connection.url}...", err=True)
        LogTail(connection).follow(emit, history=history)
    except CliError as error:
        fail(error)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
