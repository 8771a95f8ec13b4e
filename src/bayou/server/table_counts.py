"""Document counts of tables for the dashboard, without reading the documents.

A count walks the keys of the table's `by_creation_time` index in persistence (no
document is loaded), then is kept until the write log shows a commit into that index.

A walk runs in the background: a request waits for it at most `WAIT_S` (and not at all
when a previous walk was slow), so a small table's count is fresh on the next poll after a
write, while a 1M-document table answers with its previous count (or None, the first time)
and the walk finishes behind it. A table
whose walk is slow (over `CHEAP_S`) is recounted at most every `RECOUNT_S` seconds while it
keeps changing, so a busy large table costs one walk every few seconds, not one per poll
of every open dashboard.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from bayou.database.catalog import TableInfo
from bayou.database.database import Database

# Small batches, yielding between them: an engine may read its index on the event loop
# (SQLite does), and a walk must not stall other requests for more than a moment.
BATCH = 5_000
RECOUNT_S = 5.0
CHEAP_S = 0.05
WAIT_S = 0.25

log = logging.getLogger("bayou.server")


@dataclass(slots=True)
class _Count:
    ts: int
    count: int
    at: float
    cost: float


class TableCounts:
    """Counts by table id, each valid at the timestamp it was taken."""

    def __init__(self, db: Database, *, recount_s: float = RECOUNT_S) -> None:
        self.db = db
        self.recount_s = recount_s
        self._counts: dict[bytes, _Count] = {}
        self._walks: dict[bytes, asyncio.Task[None]] = {}

    async def count(self, table: TableInfo, wait_s: float = WAIT_S) -> int | None:
        """The table's documents at (about) the latest commit; the previous count, or None
        before the first, when counting takes longer than `wait_s`."""
        cached = self._counts.get(table.id)
        if cached is not None and not self._stale(table, cached):
            return cached.count
        walk = self._walks.get(table.id)
        if walk is None:
            walk = asyncio.ensure_future(self._recount(table))
            self._walks[table.id] = walk
            walk.add_done_callback(lambda _: self._walks.pop(table.id, None))
        if cached is None or cached.cost <= CHEAP_S:  # worth waiting for
            await asyncio.wait({walk}, timeout=wait_s)
        found = self._counts.get(table.id)
        return None if found is None else found.count

    def _stale(self, table: TableInfo, cached: _Count) -> bool:
        if not self._written_since(table, cached.ts):
            return False
        return cached.cost <= CHEAP_S or time.monotonic() - cached.at >= self.recount_s

    def _written_since(self, table: TableInfo, ts: int) -> bool:
        entries = self.db.write_log.entries_after(ts)
        if entries is None:  # the log no longer reaches back: assume it changed
            return True
        index_id = table.by_creation_time.id
        return any(index_id in entry.by_index for entry in entries)

    async def _recount(self, table: TableInfo) -> None:
        ts = self.db.latest_ts
        started = time.monotonic()
        try:
            count = await self._walk(table, ts)
        except Exception:  # a closing database: the next request tries again
            log.debug("counting %s failed", table.name, exc_info=True)
            return
        now = time.monotonic()
        self._counts[table.id] = _Count(ts, count, now, now - started)

    async def _walk(self, table: TableInfo, ts: int) -> int:
        persistence = self.db.persistence
        index_id = table.by_creation_time.id
        start = b""
        total = 0
        while True:
            keys = await persistence.index_keys(index_id, start, None, ts, BATCH)
            total += len(keys)
            if len(keys) < BATCH:
                return total
            start = keys[-1][0] + b"\x00"
            await asyncio.sleep(0)
