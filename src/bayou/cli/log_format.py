"""Function log entries as text, the way `npx convex logs` prints them:

    11/24/2025, 5:42:01 PM [CONVEX M(messages:send)] [LOG] 'message 1 in general'
    11/24/2025, 5:42:01 PM [CONVEX Q(diagnostics:fail)] Uncaught Error: deliberate failure
    11/24/2025, 5:42:01 PM [CONVEX Q(users:list)] Function executed in 3 ms   (--success)

An entry is a `FunctionExecution` of `/api/stream_function_logs` (ops-surface.md §3.4); its
log lines are structured (`{level, messages, timestamp, isTruncated}`) or, from older
servers, text (`"[LOG] 'hello'"`).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any


def timestamp_text(ms: float) -> str:
    """`11/24/2025, 5:42:01 PM`: the en-US local time the official CLI prints."""
    moment = datetime.fromtimestamp(ms / 1000)
    hour = moment.hour % 12 or 12
    meridiem = "AM" if moment.hour < 12 else "PM"
    return (
        f"{moment.month}/{moment.day}/{moment.year}, "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {meridiem}"
    )


def _prefix(ms: float | None, udf_type: str | None, path: str) -> str:
    kind = (udf_type or "F")[0]
    head = f"[CONVEX {kind}({path})]"
    return head if ms is None else f"{timestamp_text(ms)} {head}"


def _display_path(identifier: str) -> str:
    module, sep, name = identifier.partition(":")
    module = module.removesuffix(".js").removesuffix(".py")
    return f"{module}{sep}{name}" if sep and name != "default" else module


def format_log_line(
    line: Any, *, path: str, udf_type: str | None, entry_ms: float | None = None
) -> str:
    """One log line of a call, prefixed with its time (when known) and function."""
    path = _display_path(path)
    if isinstance(line, str):
        return f"{_prefix(entry_ms, udf_type, path)} {line}"
    level = line.get("level", "LOG")
    text = " ".join(str(m) for m in line.get("messages") or [])
    if line.get("isTruncated"):
        text += " (truncated due to length)"
    ms = line.get("timestamp", entry_ms)
    return f"{_prefix(ms, udf_type, path)} [{level}] {text}"


def format_entry(entry: dict[str, Any], *, success: bool = False) -> list[str]:
    """The lines of one execution: its log lines, then its error (or, with `success`,
    how long it ran)."""
    path = str(entry.get("identifier", "?"))
    udf_type = entry.get("udfType")
    ms = float(entry.get("timestamp") or 0) * 1000
    out = [
        format_log_line(line, path=path, udf_type=udf_type, entry_ms=ms)
        for line in entry.get("logLines") or []
    ]
    error = entry.get("error")
    if error:
        out.append(f"{_prefix(ms, udf_type, _display_path(path))} {error}")
    elif success and entry.get("kind") == "Completion":
        seconds = entry.get("executionTime")
        took = math.ceil(float(seconds) * 1000) if isinstance(seconds, (int, float)) else "?"
        out.append(f"{_prefix(ms, udf_type, _display_path(path))} Function executed in {took} ms")
    return out
