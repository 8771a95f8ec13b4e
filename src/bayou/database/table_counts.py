"""Document counts of tables (the dashboard's), without reading the documents.

A count walks the keys of the table's `by_creation_time` index in persistence (no
document is loaded) once; after that, the count at any timestamp the write log still
covers is the walked count moved by the commits in between: each `by_creation_time` key
those commits wrote is looked up at both ends (a key that exists now and did not then is
an insert, the reverse a delete, both an update), so a count stays exact and costs a few
point reads per written document, not a walk of the table.

`count_at(table, ts)` is exact (the dashboard's live `_system/dashboard/tableCounts`
query awaits it: a 1M-document table's first walk takes a few seconds, once).
`count(table)` never holds an HTTP request up for long: it waits for a walk at most
`WAIT_S` and otherwise answers the previous count (or None, the first time) while the walk
finishes behind it.
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
CHEAP_S = 0.05
WAIT_S = 0.25
# Past this many distinct written keys, walking again is cheaper than point lookups.
MAX_MOVED_KEYS = 5_000

log = logging.getLogger("bayou.database")


@dataclass(slots=True)
class _Count:
    ts: int
    count: int
    at: float
    cost: float


class TableCounts:
    """Counts by table id, each valid at the timestamp it was taken."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._counts: dict[bytes, _Count] = {}
        self._walks: dict[bytes, asyncio.Task[None]] = {}

    async def count_at(self, table: TableInfo, ts: int) -> int:
        """The exact number of documents of `table` at snapshot `ts`."""
        for _ in range(3):
            cached = self._counts.get(table.id)
            if cached is not None:
                moved = await self._moved(table, cached, ts)
                if moved is not None:
                    self._advance(table, cached, ts, moved)
                    return moved
            await self._start_walk(table)
        # The write log no longer reaches the walked count: walk at `ts` itself.
        return await self._walk(table, ts)

    async def count(self, table: TableInfo, wait_s: float = WAIT_S) -> int | None:
        """The table's documents at the latest commit; the previous count, or None before
        the first, when a walk is needed and takes longer than `wait_s`."""
        cached = self._counts.get(table.id)
        if cached is not None:
            ts = self.db.latest_ts
            moved = await self._moved(table, cached, ts)
            if moved is not None:
                self._advance(table, cached, ts, moved)
                return moved
        walk = self._walk_task(table)
        if cached is None or cached.cost <= CHEAP_S:  # worth waiting for
            await asyncio.wait({walk}, timeout=wait_s)
        found = self._counts.get(table.id)
        return None if found is None else found.count

    def _advance(self, table: TableInfo, cached: _Count, ts: int, count: int) -> None:
        """Keep the newest count as the base the next move starts from."""
        if ts > cached.ts and self._counts.get(table.id) is cached:
            self._counts[table.id] = _Count(ts, count, cached.at, cached.cost)

    def _walk_task(self, table: TableInfo) -> asyncio.Task[None]:
        walk = self._walks.get(table.id)
        if walk is None:
            walk = asyncio.ensure_future(self._recount(table))
            self._walks[table.id] = walk
            walk.add_done_callback(lambda _: self._walks.pop(table.id, None))
        return walk

    async def _start_walk(self, table: TableInfo) -> None:
        await asyncio.shield(self._walk_task(table))

    async def _moved(self, table: TableInfo, cached: _Count, ts: int) -> int | None:
        """`cached` carried to `ts` through the write log; None when the log cannot tell."""
        if ts == cached.ts:
            return cached.count
        lo, hi = min(ts, cached.ts), max(ts, cached.ts)
        entries = self.db.write_log.entries_after(lo, hi)
        if entries is None:
            return None
        index_id = table.by_creation_time.id
        keys: set[bytes] = set()
        for entry in entries:
            keys.update(entry.by_index.get(index_id, ()))
            if len(keys) > MAX_MOVED_KEYS:
                return None
        delta = 0
        for key in keys:
            delta += await self._exists(index_id, key, hi) - await self._exists(index_id, key, lo)
        return cached.count + (delta if ts > cached.ts else -delta)

    async def _exists(self, index_id: bytes, key: bytes, ts: int) -> int:
        found = await self.db.persistence.index_keys(index_id, key, key + b"\x00", ts, 1)
        return 1 if found else 0

    async def _recount(self, table: TableInfo) -> None:
        ts = self.db.latest_ts
        started = time.monotonic()
        try:
            count = await self._walk(table, ts)
        except Exception:  # a closing database: the next request tries again
            log.debug("counting %s failed", table.name, exc_info=True)
            return
        now = time.monotonic()
        current = self._counts.get(table.id)
        if current is None or current.ts <= ts:
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
