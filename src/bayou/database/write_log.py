"""The write log: recent commits as the index keys they wrote.

Each entry is `(ts, keys)` where `keys` lists `(index_id, key)` for the old and the new
version of every document the commit wrote, in every index of its table (a document
whose key did not move still changes what a reader of that key saw). The committer
checks a transaction's read set against the entries after its snapshot; the sync layer
asks whether a query's read set is still valid between two timestamps.

Checking costs O(read intervals), not O(commits since the snapshot): every written key
maps to the last timestamp it was written at, so a point read (the common case: `get`)
is one dictionary lookup. So does a range within one value of an index's first field
(`withIndex(i, q => q.eq("id", x))`, with or without `.first()`): the committer gives each
entry the first-field prefix (the "head") of every key it wrote in a database index, and
every head maps to the last timestamp it was written at. Other ranges, and heads written
since the snapshot, bisect each later entry's sorted keys of that index.

The log keeps entries for `retention_ns` (and at most `max_entries`); a question about an
older range answers "unknown", and callers treat that as a conflict / re-run.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from dataclasses import dataclass, field

from bayou.database.read_set import ReadSet
from bayou.errors import BadRequest
from bayou.values import sort_key

Key = tuple[bytes, bytes]


@dataclass(frozen=True, slots=True)
class LogEntry:
    ts: int
    keys: tuple[Key, ...]
    tables: tuple[str, ...]  # names of the tables written, for error messages
    by_index: dict[bytes, list[bytes]] = field(default_factory=dict, compare=False)
    # (index id, first-field prefix) of every key written in a database index (`head_of`)
    heads: tuple[Key, ...] = ()

    @classmethod
    def create(
        cls, ts: int, keys: tuple[Key, ...], tables: tuple[str, ...], heads: tuple[Key, ...] = ()
    ) -> LogEntry:
        by_index: dict[bytes, list[bytes]] = {}
        for index_id, key in keys:
            by_index.setdefault(index_id, []).append(key)
        for ks in by_index.values():
            ks.sort()
        return cls(ts, keys, tables, by_index, heads)

    def writes_into(self, index_id: bytes, start: bytes, end: bytes | None) -> bool:
        keys = self.by_index.get(index_id)
        if not keys:
            return False
        i = bisect_left(keys, start)
        return i < len(keys) and (end is None or keys[i] < end)


def head_of(key: bytes) -> bytes:
    """The first field's part of a database index key (keys are sort keys in a row)."""
    return key[: sort_key.first_length(key)]


def _head_covering(start: bytes, end: bytes | None) -> bytes | None:
    """The head that every key in `[start, end)` begins with — that is, whose key's own
    head it is — or None when the range is not within one first-field value."""
    if end is None or not start:
        return None
    tag = start[0]
    if tag in _ESCAPED_TAGS:
        # A string's key is a prefix of the keys of longer strings that continue with an
        # escaped 0x00 (0x00 0xFF): the range must stop before those.
        try:
            head = head_of(start)
        except BadRequest:
            return None
        return head if end <= head + b"\xff" else None
    if tag not in _FIXED_WIDTH_TAGS:
        return None  # arrays and objects: their keys nest escaped strings
    try:
        head = head_of(start)
    except ValueError:
        return None
    bound = sort_key.prefix_successor(head)
    return head if bound is not None and end <= bound else None


_ESCAPED_TAGS = frozenset({sort_key.STRING_TAG, sort_key.BYTES_TAG})
_FIXED_WIDTH_TAGS = frozenset(sort_key.FIXED_WIDTH)


class WriteLog:
    """Commits in timestamp order, trimmed by age and count."""

    def __init__(self, *, retention_ns: int = 120 * 10**9, max_entries: int = 100_000) -> None:
        self._entries: deque[LogEntry] = deque()
        self._tss: deque[int] = deque()
        self._last_write: dict[Key, int] = {}  # key → ts of the newest entry writing it
        self._index_written: dict[bytes, int] = {}  # index id → ts of its newest write
        self._head_written: dict[Key, int] = {}  # (index id, head) → ts of its newest write
        self._headed: set[bytes] = set()  # indexes whose heads are recorded (not by_id)
        self.retention_ns = retention_ns
        self.max_entries = max_entries
        # Everything at or before this ts has been trimmed (or predates the process).
        self.horizon_ts = 0

    def reset(self, ts: int) -> None:
        """Start empty at `ts` (after opening a database: history before it is unknown)."""
        self._entries.clear()
        self._tss.clear()
        self._last_write.clear()
        self._index_written.clear()
        self._head_written.clear()
        self.horizon_ts = ts

    def append(self, entry: LogEntry) -> None:
        self._entries.append(entry)
        self._tss.append(entry.ts)
        last = self._last_write
        for key in entry.keys:
            last[key] = entry.ts
        written = self._index_written
        for index_id in entry.by_index:
            written[index_id] = entry.ts
        heads = self._head_written
        for head in entry.heads:
            heads[head] = entry.ts
            self._headed.add(head[0])
        self._trim(entry.ts)

    def _trim(self, now_ts: int) -> None:
        entries, tss, last = self._entries, self._tss, self._last_write
        heads = self._head_written
        cutoff = now_ts - self.retention_ns
        while entries and (tss[0] < cutoff or len(entries) > self.max_entries):
            old = entries.popleft()
            self.horizon_ts = tss.popleft()
            for key in old.keys:
                if last.get(key) == old.ts:
                    del last[key]
            for head in old.heads:
                if heads.get(head) == old.ts:
                    del heads[head]

    def entries_after(self, ts: int, until: int | None = None) -> list[LogEntry] | None:
        """Entries with `ts < entry.ts <= until`, or None if the log no longer covers `ts`."""
        if ts < self.horizon_ts:
            return None
        tss = self._tss
        lo = bisect_right(tss, ts)
        hi = len(tss) if until is None else bisect_right(tss, until)
        return [self._entries[i] for i in range(lo, hi)]

    def _entry_at(self, ts: int) -> LogEntry:
        return self._entries[bisect_left(self._tss, ts)]

    def first_conflict(
        self, read_set: ReadSet, after_ts: int, until: int | None = None
    ) -> LogEntry | bool | None:
        """An entry in `(after_ts, until]` that writes into `read_set` (the newest for a
        point read: a retry waits for it).

        Returns the entry, None when nothing overlaps, or True when the log no longer
        reaches back to `after_ts` (the answer is unknown; assume a conflict).
        """
        if after_ts < self.horizon_ts:
            return True
        if not self._tss or self._tss[-1] <= after_ts:
            return None
        first: int | None = None
        ranges: list[tuple[bytes, bytes, bytes | None]] = []
        last = self._last_write
        heads, headed = self._head_written, self._headed
        for index_id, intervals in read_set.intervals.items():
            for start, end in intervals:
                if end is not None and end == start + b"\x00":
                    ts = last.get((index_id, start))
                    if ts is not None and ts > after_ts and (until is None or ts <= until):
                        first = _min(first, ts)
                elif self._index_written.get(index_id, 0) > after_ts:
                    if index_id in headed:
                        head = _head_covering(start, end)
                        if head is not None and heads.get((index_id, head), 0) <= after_ts:
                            continue  # nothing with this head was written since
                    ranges.append((index_id, start, end))
        if first is None and ranges:
            for entry in self.entries_after(after_ts, until) or ():
                if any(entry.writes_into(i, s, e) for i, s, e in ranges):
                    return entry
        return None if first is None else self._entry_at(first)

    def is_valid(self, read_set: ReadSet, from_ts: int, to_ts: int) -> bool:
        """Whether no commit in `(from_ts, to_ts]` wrote into `read_set`."""
        return self.first_conflict(read_set, from_ts, to_ts) is None


def _min(a: int | None, b: int) -> int:
    return b if a is None or b < a else a
