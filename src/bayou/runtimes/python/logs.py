"""Log lines of a call: `print`, `sys.stderr`, `logging` and `warnings` inside a function.

A line is `{"level": "LOG"|"INFO"|"WARN"|"ERROR"|"DEBUG", "messages": [text], "timestamp":
ms, "isTruncated": bool}`, as the JS runtime reports console lines. At most 256 lines a
call (the last says that the rest were dropped), each at most 32 KiB of UTF-8. Output
written outside any call goes to the worker's real stderr.
"""

from __future__ import annotations

import io
import logging
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any, Final, TextIO

# The real clock, bound before the sandbox freezes `time.time` inside queries.
_real_time: Final = time.time

MAX_LOG_LINES: Final = 256
MAX_LOG_LINE_BYTES: Final = 32768

_LEVELS: Final = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARN",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "ERROR",
}


class LogSink:
    """The log lines of one call (or of one import phase)."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self._partial: dict[str, list[str]] = {}

    def add(self, level: str, message: str) -> None:
        """Append one line (dropping lines past the limit, truncating long ones)."""
        if len(self.lines) >= MAX_LOG_LINES:
            return
        if len(self.lines) == MAX_LOG_LINES - 1:
            message = f"Log overflow (maximum {MAX_LOG_LINES}). Remaining log lines omitted."
            level = "ERROR"
        encoded = message.encode("utf-8", errors="replace")
        truncated = len(encoded) > MAX_LOG_LINE_BYTES
        if truncated:
            message = encoded[:MAX_LOG_LINE_BYTES].decode("utf-8", errors="ignore")
        self.lines.append(
            {
                "level": level,
                "messages": [message],
                "timestamp": _real_time() * 1000.0,
                "isTruncated": truncated,
            }
        )

    def write(self, level: str, text: str) -> None:
        """Stream text (from print): every completed line becomes a log line."""
        pending = self._partial.setdefault(level, [])
        while text:
            head, newline, text = text.partition("\n")
            pending.append(head)
            if not newline:
                break
            self.add(level, "".join(pending))
            pending.clear()

    def flush(self) -> None:
        """Emit text written without a final newline."""
        for level, pending in self._partial.items():
            if pending and any(pending):
                self.add(level, "".join(pending))
            pending.clear()


class CallStream(io.TextIOBase):
    """`sys.stdout` / `sys.stderr` of the worker: text goes to the current call's log."""

    def __init__(self, level: str, sink: Callable[[], LogSink | None], fallback: TextIO) -> None:
        super().__init__()
        self._level = level
        self._sink = sink
        self._fallback = fallback

    def write(self, text: str) -> int:
        sink = self._sink()
        if sink is None:
            self._fallback.write(text)
            self._fallback.flush()
        else:
            sink.write(self._level, text)
        return len(text)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        if self._sink() is None:
            self._fallback.flush()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def isatty(self) -> bool:
        return False


class CallLogHandler(logging.Handler):
    """A root `logging` handler: records become log lines of the current call."""

    def __init__(self, sink: Callable[[], LogSink | None], fallback: TextIO) -> None:
        super().__init__(logging.DEBUG)
        self._sink = sink
        self._fallback = fallback
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        sink = self._sink()
        if sink is None:
            self._fallback.write(f"{record.levelname} {record.name}: {text}\n")
            return
        level = _LEVELS.get(record.levelno)
        if level is None:
            level = "ERROR" if record.levelno >= logging.ERROR else "INFO"
        sink.add(level, text)


def install(sink: Callable[[], LogSink | None]) -> None:
    """Route the worker's stdout, stderr, logging and warnings to the current call's log.

    `logging`'s root level is INFO (DEBUG records need `logging.getLogger().setLevel`).
    """
    fallback = sys.__stderr__ or sys.stderr
    sys.stdout = CallStream("LOG", sink, fallback)
    sys.stderr = CallStream("ERROR", sink, fallback)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(CallLogHandler(sink, fallback))
    root.setLevel(logging.INFO)

    def show_warning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        target = sink()
        text = f"{category.__name__}: {message}"
        if target is None:
            fallback.write(f"{filename}:{lineno}: {text}\n")
        else:
            target.add("WARN", text)

    warnings.showwarning = show_warning
