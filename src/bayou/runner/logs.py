"""Function execution logs: log lines as clients see them, and the in-memory log stream
that `npx convex logs` long-polls (`/api/stream_function_logs`, ops-surface.md §3.4).

A failed call is also written to the server log, at info, as one line: what ran and the
first line of its error (`mutation messages:send failed: Uncaught Error: boom`), so an
operator sees failures without a client attached.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

MAX_ENTRIES = 1000

log = logging.getLogger(__name__)


def log_line_text(line: dict[str, Any]) -> str:
    """`[LOG] 'hello' 42`: the string form clients print."""
    text = " ".join(str(m) for m in line.get("messages") or [])
    if line.get("isTruncated"):
        text += " (truncated)"
    return f"[{line.get('level', 'LOG')}] {text}"


class FunctionLogs:
    """A ring buffer of execution entries, newest last, with long-polling readers."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)
        self._changed = asyncio.Event()
        self._last_ts = 0.0
        self.closed = False
        # Called with every entry as it is added (metrics count calls and errors).
        self.observers: list[Callable[[dict[str, Any]], None]] = []

    def _timestamp(self) -> float:
        # Cursors are timestamps (ms); keep them strictly increasing so none is skipped.
        now = time.time() * 1000
        self._last_ts = now if now > self._last_ts else self._last_ts + 0.001
        return self._last_ts

    def append(self, entry: dict[str, Any]) -> None:
        if entry.get("error"):
            log.info(
                "%s %s failed: %s",
                str(entry.get("udfType") or "function").lower(),
                entry.get("identifier"),
                _first_line(str(entry["error"])) + _location(str(entry["error"])),
            )
        for observer in self.observers:
            observer(entry)
        entry["_cursor"] = self._timestamp()
        self._entries.append(entry)
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self) -> None:
        """Answer every waiting long poll now (the server is stopping)."""
        self.closed = True
        self._changed.set()

    def since(self, cursor: float) -> list[dict[str, Any]]:
        return [e for e in self._entries if e["_cursor"] > cursor]

    async def wait_since(self, cursor: float, timeout: float) -> tuple[list[dict[str, Any]], float]:
        """Entries newer than `cursor` (waiting up to `timeout` for one) and the new cursor."""
        entries = self.since(cursor)
        if not entries and not self.closed:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                return [], cursor
            entries = self.since(cursor)
        new_cursor = entries[-1]["_cursor"] if entries else cursor
        return [{k: v for k, v in e.items() if k != "_cursor"} for e in entries], new_cursor


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _location(text: str) -> str:
    """` (File "messages.py", line 12, in send)`: where a Python function raised, if known."""
    found = next(
        (line.strip() for line in text.splitlines()[1:] if line.strip().startswith('File "')), ""
    )
    return f" ({found})" if found else ""
