"""Read a child process's output lines in the background and wait for one that matches."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import IO


class LineReader:
    """Collects the lines of `stream` (a text pipe) from a daemon thread."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 30.0) -> str:
        """The first new line for which `predicate` holds; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no matching line in {timeout}s; got:\n{''.join(self.lines)[-3000:]}"
                )
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(
                    f"the process ended; it printed:\n{''.join(self.lines)[-3000:]}"
                )
            self.lines.append(line)
            if predicate(line):
                return line

    def text(self) -> str:
        return "".join(self.lines)
