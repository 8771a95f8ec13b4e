"""Read sets: the index intervals a transaction or query actually consumed.

A read set maps each index id to a sorted list of disjoint half-open byte intervals
`[start, end)` over that index's keys (`end=None`: unbounded). A commit conflicts with
(or invalidates) a read set when any key it wrote — old or new — in some index falls
inside an interval of that index. Lookups are O(log n) by bisection.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator


class IntervalSet:
    """Disjoint, sorted half-open intervals over bytes; `end=None` is +infinity."""

    __slots__ = ("_ends", "_starts")

    def __init__(self) -> None:
        self._starts: list[bytes] = []
        self._ends: list[bytes | None] = []

    def __len__(self) -> int:
        return len(self._starts)

    def __iter__(self) -> Iterator[tuple[bytes, bytes | None]]:
        return iter(zip(self._starts, self._ends, strict=True))

    def add(self, start: bytes, end: bytes | None) -> None:
        """Add `[start, end)`, merging with every interval it touches or overlaps."""
        if end is not None and end <= start:
            return
        starts, ends = self._starts, self._ends
        # First interval that could touch: the last one starting at or before `start`.
        i = bisect_right(starts, start) - 1
        if i >= 0 and (ends[i] is None or ends[i] >= start):  # type: ignore[operator]
            start = starts[i]
            end = _max_end(end, ends[i])
        else:
            i += 1
        j = i
        while j < len(starts) and (end is None or starts[j] <= end):
            end = _max_end(end, ends[j])
            j += 1
        starts[i:j] = [start]
        ends[i:j] = [end]

    def contains(self, key: bytes) -> bool:
        """Whether `key` lies in some interval."""
        i = bisect_right(self._starts, key) - 1
        if i < 0:
            return False
        end = self._ends[i]
        return end is None or key < end

    def overlaps(self, start: bytes, end: bytes | None) -> bool:
        """Whether `[start, end)` intersects some interval."""
        i = bisect_right(self._starts, start) - 1
        if i >= 0:
            e = self._ends[i]
            if e is None or e > start:
                return True
        nxt = i + 1
        if nxt < len(self._starts):
            return end is None or self._starts[nxt] < end
        return False


def _max_end(a: bytes | None, b: bytes | None) -> bytes | None:
    if a is None or b is None:
        return None
    return a if a >= b else b


class ReadSet:
    """Intervals per index id, plus the counters that per-transaction limits use."""

    __slots__ = ("bytes_read", "documents_read", "intervals")

    def __init__(self) -> None:
        self.intervals: dict[bytes, IntervalSet] = {}
        self.documents_read = 0
        self.bytes_read = 0

    def add(self, index_id: bytes, start: bytes, end: bytes | None) -> None:
        intervals = self.intervals.get(index_id)
        if intervals is None:
            intervals = self.intervals[index_id] = IntervalSet()
        intervals.add(start, end)

    def add_point(self, index_id: bytes, key: bytes) -> None:
        """Record a read of exactly one key (a `get`, a uniqueness check)."""
        self.add(index_id, key, key + b"\x00")

    def interval_count(self) -> int:
        return sum(len(s) for s in self.intervals.values())

    def contains(self, index_id: bytes, key: bytes) -> bool:
        intervals = self.intervals.get(index_id)
        return intervals is not None and intervals.contains(key)

    def touched_by(self, writes: Iterable[tuple[bytes, bytes]]) -> tuple[bytes, bytes] | None:
        """The first `(index_id, key)` among `writes` inside this read set, or None."""
        intervals = self.intervals
        for index_id, key in writes:
            s = intervals.get(index_id)
            if s is not None and s.contains(key):
                return index_id, key
        return None

    def merge(self, other: ReadSet) -> None:
        """Add all of `other`'s intervals (a nested query's reads join its caller's)."""
        for index_id, intervals in other.intervals.items():
            for start, end in intervals:
                self.add(index_id, start, end)
        self.documents_read += other.documents_read
        self.bytes_read += other.bytes_read
