"""`Range: bytes=…` for `GET /api/storage/{uuid}`, as Convex serves it, done right.

Convex serves one range (206 with `Content-Range`), answers several with 416, and ignores
a header it cannot parse (the whole file, 200). Beyond Convex, which hands any range to
its store unchecked: a suffix range (`bytes=-500`) is the last 500 bytes, an end past the
file is cut to the file, and a range that starts past the end is 416 with `Content-Range:
bytes */<size>` (RFC 9110 §14).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # exclusive

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end - 1}/{size}"


class RangeNotSatisfiable(Exception):
    """Several ranges, or one outside the file: 416."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range `header` asks of a file of `size` bytes; None: serve it whole."""
    if header is None or size == 0:
        return None  # an empty file has no bytes to pick: Convex sends it whole
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    parsed = [_one(p) for p in parts]
    if not parsed or any(p is None for p in parsed):
        return None
    if len(parsed) > 1:
        raise RangeNotSatisfiable()
    first, last = parsed[0]  # type: ignore[misc]
    if first is None:  # suffix: the last `last` bytes
        if last == 0:
            raise RangeNotSatisfiable()
        return ByteRange(max(size - last, 0), size)
    if first >= size:
        raise RangeNotSatisfiable()
    end = size if last is None else min(last + 1, size)
    return ByteRange(first, end)


def _one(part: str) -> tuple[int | None, int | None] | None:
    first, dash, last = part.partition("-")
    first, last = first.strip(), last.strip()
    if not dash or (first and not first.isdigit()) or (last and not last.isdigit()):
        return None
    if not first and not last:
        return None
    start = int(first) if first else None
    stop = int(last) if last else None
    if start is not None and stop is not None and stop < start:
        return None
    return start, stop
