"""The write log: recent commits as the index keys they wrote.

Each entry is `(ts, keys)` where `keys` lists `(index_id, key)` for the old and the new
version of every document the commit wrote, in every index of its table (a document
whose key did not move still changes what a reader of that key saw). The committer
checks a transaction's read set against the entries after its snapshot; the sync layer
asks whether a query's read set is still valid between two timestamps.

The log keeps entries for `retention_ns` (and at most `max_entries`); a question about an
older range answers None ("unknown"), and callers treat that as a conflict / re-run.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

from bayou.database.read_set import ReadSet


@dataclass(frozen=True, slots=True)
class LogEntry:
    ts: int
    keys: tuple[tuple[bytes, bytes], ...]
    tables: tuple[str, ...]  # names of the tables written, for error messages


class WriteLog:
    """Commits in timestamp order, trimmed by age and count."""

    def __init__(self, *, retention_ns: int = 300 * 10**9, max_entries: int = 200_000) -> None:
        self._entries: deque[LogEntry] = deque()
        self._tss: deque[int] = deque()
        self.retention_ns = retention_ns
        self.max_entries = max_entries
        # Everything at or before this ts has been trimmed (or predates the process).
        self.horizon_ts = 0

    def reset(self, ts: int) -> None:
        """Start empty at `ts` (after opening a database: history before it is unknown)."""
        self._entries.clear()
        self._tss.clear()
        self.horizon_ts = ts

    def append(self, entry: LogEntry) -> None:
        self._entries.append(entry)
        self._tss.append(entry.ts)
        self._trim(entry.ts)

    def _trim(self, now_ts: int) -> None:
        entries, tss = self._entries, self._tss
        cutoff = now_ts - self.retention_ns
        while entries and (tss[0] < cutoff or len(entries) > self.max_entries):
            self.horizon_ts = tss.popleft()
            entries.popleft()

    def entries_after(self, ts: int, until: int | None = None) -> list[LogEntry] | None:
        """Entries with `ts < entry.ts <= until`, or None if the log no longer covers `ts`."""
        if ts < self.horizon_ts:
            return None
        tss = self._tss
        lo = bisect_right(tss, ts)
        hi = len(tss) if until is None else bisect_right(tss, until)
        return [self._entries[i] for i in range(lo, hi)]

    def first_conflict(
        self, read_set: ReadSet, after_ts: int, until: int | None = None
    ) -> LogEntry | bool | None:
        """The first entry in `(after_ts, until]` that writes into `read_set`.

        Returns the entry, None when nothing overlaps, or True when the log no longer
        reaches back to `after_ts` (the answer is unknown; assume a conflict).
        """
        entries = self.entries_after(after_ts, until)
        if entries is None:
            return True
        for entry in entries:
            if read_set.touched_by(entry.keys) is not None:
                return entry
        return None

    def is_valid(self, read_set: ReadSet, from_ts: int, to_ts: int) -> bool:
        """Whether no commit in `(from_ts, to_ts]` wrote into `read_set`."""
        return self.first_conflict(read_set, from_ts, to_ts) is None
