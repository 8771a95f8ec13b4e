"""Query streams: an index range read in pages, merged with the transaction's own writes.

The stream pulls index hits from persistence page by page; documents the transaction has
written are taken from its write buffer instead (new versions whose key falls in the
window, in key order), so queries read their own writes. Operators (`filter`, `limit`)
run lazily in order. The read set grows only by what was consumed: from the start of the
range up to the last key pulled — filtered-out documents included — or the whole range
once the stream is exhausted (db-semantics.md §2.3).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from bayou.database.catalog import IndexInfo, TableInfo
from bayou.database.document import Doc
from bayou.database.index_key import compile_range, document_key
from bayou.database.query import Filter, QueryPlan

if TYPE_CHECKING:
    from bayou.database.transaction import Transaction

MAX_PAGE = 256


class QueryStream:
    """Iterate a query inside a transaction: `await next()`, `await next_batch(n)`."""

    def __init__(self, tx: Transaction, plan: QueryPlan) -> None:
        self.tx = tx
        self.plan = plan
        self.table: TableInfo | None = None
        self.index: IndexInfo | None = None
        self._started = False
        self.done = False  # no more results will come
        self.exhausted = False  # the whole range was read (the read set covers all of it)
        self.rows_read = 0
        self.bytes_read = 0
        # The range [lo, hi) still to read from persistence, and where reading began.
        self._lo = b""
        self._hi: bytes | None = None
        self._range_start = b""
        self._range_end: bytes | None = None
        self._window_done = False
        self._buffer: deque[tuple[bytes, Doc]] = deque()
        self._last_key: bytes | None = None  # the last key pulled, the read set's edge
        self._recorded: tuple[bytes, bytes | None] | None = None
        self._limits = [op.n for op in plan.operators if not isinstance(op, Filter)]
        self._counts = [0] * len(self._limits)
        self._page = _first_page_size(plan)

    def start(self, *, after: bytes | None = None, until: bytes | None = None) -> None:
        """Resolve the plan; optionally start after key `after` and stop at key `until` (inclusive).

        `after`/`until` are pagination positions, in the stream's order.
        """
        self._started = True
        tx = self.tx
        table = tx.table_for_read(self.plan.table)
        if table is None:
            self.done = self.exhausted = True
            return
        index = tx.index_for_read(table, self.plan.index)
        self.table, self.index = table, index
        lo, hi = compile_range(index, table.name, self.plan.bounds)
        asc = self.plan.order == "asc"
        if after is not None:
            if asc:
                lo = max(lo, after + b"\x00")
            else:
                hi = after if hi is None else min(hi, after)
        if until is not None:
            if asc:
                stop = until + b"\x00"
                hi = stop if hi is None else min(hi, stop)
            else:
                lo = max(lo, until)
        self._lo, self._hi = lo, hi
        self._range_start, self._range_end = lo, hi
        tx._count_range()
        if hi is not None and hi <= lo:
            self.done = self.exhausted = True
        if any(n == 0 for n in self._limits):
            self.done = True

    async def next(self) -> dict[str, Any] | None:
        """The next result, or None when the stream is done."""
        item = await self.next_with_key()
        return None if item is None else item[1].value

    async def next_batch(self, n: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < n:
            item = await self.next_with_key()
            if item is None:
                break
            out.append(item[1].value)
        return out

    async def collect(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while (item := await self.next_with_key()) is not None:
            out.append(item[1].value)
        return out

    async def next_with_key(self) -> tuple[bytes, Doc] | None:
        """The next result with its index key, applying the operators."""
        if not self._started:
            self.start()
        operators = self.plan.operators
        while not self.done:
            pulled = await self._pull()
            if pulled is None:
                self.done = True
                return None
            key, doc = pulled
            limit_i = 0
            keep = True
            for op in operators:
                if isinstance(op, Filter):
                    if not op.predicate(doc.value):
                        keep = False
                        break
                else:
                    self._counts[limit_i] += 1
                    if self._counts[limit_i] >= self._limits[limit_i]:
                        # Saturated: nothing after this document can get through.
                        self.done = True
                    limit_i += 1
            if keep:
                return key, doc
        return None

    async def pull_raw(self) -> tuple[bytes, Doc] | None:
        """The next document of the range before operators (pagination counts these)."""
        if not self._started:
            self.start()
        if self.done:
            return None
        return await self._pull()

    async def _pull(self) -> tuple[bytes, Doc] | None:
        if not self._buffer:
            if self._window_done:
                self._mark_exhausted()
                return None
            await self._refill()
            if not self._buffer:
                self._mark_exhausted()
                return None
        key, doc = self._buffer.popleft()
        assert self.table is not None
        if self.tx.admission is not None:
            # A hot document met through an index restarts the attempt now, as a point read
            # of it does, rather than after the rest of the function ran in vain.
            self.tx.admit((self.table.by_id.id, doc.internal_id))
        self._last_key = key
        self.rows_read += 1
        self.bytes_read += doc.size
        self.tx.count_read(self.table, doc)
        return key, doc

    def _mark_exhausted(self) -> None:
        self.exhausted = True
        self.done = True
        self.record_reads()

    async def _refill(self) -> None:
        tx, table, index = self.tx, self.table, self.index
        assert table is not None and index is not None
        asc = self.plan.order == "asc"
        lo, hi = self._lo, self._hi
        page_size = self._page
        self._page = min(self._page * 2, MAX_PAGE)
        hits = await tx.db.index_range(
            table, index.id, lo, hi, tx.begin_ts, self.plan.order, page_size, tx.overlay
        )
        full = len(hits) == page_size
        written = tx.writes
        merged: list[tuple[bytes, Doc]] = [
            (key, doc) for key, doc in hits if (table.id, doc.internal_id) not in written
        ]
        # Our own writes whose new key lies in the part of the range this page covers.
        boundary = hits[-1][0] if full else None
        for (table_id, internal_id), w in written.items():
            if table_id != table.id or w.new is None:
                continue
            k = document_key(index, internal_id, w.new.value)
            if k < lo or (hi is not None and k >= hi):
                continue
            if boundary is not None and (k > boundary if asc else k < boundary):
                continue
            merged.append((k, w.new))
        merged.sort(key=lambda item: item[0], reverse=not asc)
        self._buffer.extend(merged)
        if full:
            assert boundary is not None
            if asc:
                self._lo = boundary + b"\x00"
            else:
                self._hi = boundary
        else:
            self._window_done = True

    def record_reads(self) -> None:
        """Add the consumed part of the range to the transaction's read set."""
        if self.index is None:
            return
        if self.exhausted:
            interval = (self._range_start, self._range_end)
        elif self._last_key is None:
            return
        elif self.plan.order == "asc":
            interval = (self._range_start, self._last_key + b"\x00")
        else:
            interval = (self._last_key, self._range_end)
        if interval != self._recorded:
            self._recorded = interval
            self.tx.reads.add(self.index.id, *interval)

    @property
    def last_key(self) -> bytes | None:
        return self._last_key


def _first_page_size(plan: QueryPlan) -> int:
    """Fetch exactly `n` for `take(n)` without filters before it; otherwise start small."""
    for op in plan.operators:
        if isinstance(op, Filter):
            break
        return max(1, min(op.n, MAX_PAGE))
    return 32
