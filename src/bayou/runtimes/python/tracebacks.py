"""Errors of user code as callers see them: the exception, then the user's frames.

    Uncaught ValueError: bad value 'x'
      File "lib/checks.py", line 3, in check
        raise ValueError(f"bad value {x!r}")
      File "messages.py", line 12, in send
        check(body)

Only frames in the pushed modules are kept (Bayou's and the standard library's are noise
to the reader), with paths relative to the functions folder, and the line that raised
comes first, then its callers — the order of the JavaScript stacks Convex shows, so the
file and line to open are right under the message, in a client's error, `bayou dev`,
`bayou logs` and the test harness alike.
"""

from __future__ import annotations

import math
import traceback
from types import TracebackType
from typing import Any

from bayou.errors import ConvexError
from bayou.runtimes.python.api.values import js_json_text, to_convex
from bayou.values import Int64


def convex_error_message(error: ConvexError) -> str:
    """The message of a ConvexError as the npm package words it: its data, JSON-encoded
    unless it is a string (an Int64 as `"123n"`), or a nested error's whole text."""
    if error.explicit_message is not None:
        return error.explicit_message
    data = error.data
    if isinstance(data, str):
        return data
    try:
        return js_json_text(_as_error_json(to_convex(data, "ConvexError data")))
    except Exception:
        return repr(data)


def _as_error_json(value: Any) -> Any:
    """`value` as `JSON.stringify` sees it with the npm package's error replacer: a bigint
    is `"123n"`, bytes (an ArrayBuffer) `{}`, NaN and infinities `null`."""
    if isinstance(value, Int64):
        return f"{value.value}n"
    if isinstance(value, bytes):
        return {}
    if isinstance(value, float) and (value != value or value in (math.inf, -math.inf)):
        return None
    if isinstance(value, dict):
        return {k: _as_error_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_error_json(v) for v in value]
    return value


class ErrorFormatter:
    """Formats errors for one loaded functions folder (`root`, its directory): frames
    there are user frames, shown relative to it."""

    def __init__(self, root: str | None = None) -> None:
        self.root = None if root is None else root.rstrip("/") + "/"

    def relative(self, filename: str | None) -> str | None:
        """`admin/users.py` for a file of the functions folder, else None."""
        root = self.root
        if not filename or root is None or not filename.startswith(root):
            return None
        return filename[len(root) :]

    def header(self, error: BaseException) -> str:
        """`ValueError: boom` (the exception line of a traceback)."""
        if isinstance(error, ConvexError):
            return f"ConvexError: {convex_error_message(error)}"
        if isinstance(error, SyntaxError):
            file = self.relative(error.filename) or error.filename
            where = f" ({file}, line {error.lineno})" if error.filename else ""
            return f"SyntaxError: {error.msg}{where}"
        text = str(error)
        name = type(error).__name__
        return f"{name}: {text}" if text else name

    def user_frames(self, tb: TracebackType | None) -> list[str]:
        """The user's frames of a traceback, formatted like Python's, innermost first
        (where the error was raised, then its callers)."""
        out = []
        for frame in traceback.extract_tb(tb):
            rel = self.relative(frame.filename)
            if rel is None:
                continue
            text = f'  File "{rel}", line {frame.lineno}, in {frame.name}'
            if frame.line:
                text += f"\n    {frame.line.strip()}"
            out.append(text)
        out.reverse()
        return out

    def describe(self, error: BaseException) -> str:
        """`Uncaught <header>` and the user frames, plus notes and a syntax error's caret."""
        lines = [f"Uncaught {self.header(error)}"]
        lines.extend(self.user_frames(error.__traceback__))
        if isinstance(error, SyntaxError) and error.text:
            text = error.text.rstrip("\n")
            stripped = text.lstrip()
            lines.append(f"    {stripped}")
            if error.offset:
                indent = len(text) - len(stripped)
                lines.append("    " + " " * max(error.offset - 1 - indent, 0) + "^")
        for note in getattr(error, "__notes__", None) or ():
            lines.append(str(note))
        return "\n".join(lines)

    def location(self, error: BaseException) -> str | None:
        """`messages.py:7`: the innermost user frame (or a syntax error's position)."""
        if isinstance(error, SyntaxError):
            rel = self.relative(error.filename)
            if rel is not None:
                return f"{rel}:{error.lineno}"
        found = None
        for frame in traceback.extract_tb(error.__traceback__):
            rel = self.relative(frame.filename)
            if rel is not None:
                found = f"{rel}:{frame.lineno}"
        return found
