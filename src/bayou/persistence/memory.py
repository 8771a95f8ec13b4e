"""In-memory persistence: the same contract as SQLite and PostgreSQL, kept in sorted lists.

For the shipped test harness and fast unit tests. Every row key (a document, an index key)
keeps its versions sorted by timestamp, and each table and index keeps its ids or keys in a
sorted list, so point reads are two bisections and scans walk a slice. Every method runs
without awaiting, so a read can never observe half of a write. Data lives as long as the
object: `close` then `open` finds everything again, and nothing is ever saved to disk.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import orjson

from bayou.errors import InternalError
from bayou.persistence.base import DocumentRevision, IndexEntry, IndexHit, Order

_Row = TypeVar("_Row")
_INT64 = range(-(2**63), 2**63)


class _History(Generic[_Row]):
    """The versions of one row key, sorted by timestamp; rewriting a timestamp replaces it."""

    __slots__ = ("rows", "stamps")

    def __init__(self) -> None:
        self.stamps: list[int] = []
        self.rows: list[_Row] = []

    def put(self, ts: int, row: _Row) -> None:
        stamps = self.stamps
        if not stamps or stamps[-1] < ts:  # the common case: a newer commit
            stamps.append(ts)
            self.rows.append(row)
            return
        i = bisect_left(stamps, ts)
        if i < len(stamps) and stamps[i] == ts:
            self.rows[i] = row
        else:
            stamps.insert(i, ts)
            self.rows.insert(i, row)

    def at(self, ts: int) -> _Row | None:
        """The newest version with a timestamp `<= ts`."""
        i = bisect_right(self.stamps, ts) - 1
        return self.rows[i] if i >= 0 else None


class _Ordered(Generic[_Row]):
    """Row keys in byte order (an index's keys, a table's ids), each with its history."""

    __slots__ = ("histories", "keys")

    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.histories: dict[bytes, _History[_Row]] = {}

    def put(self, key: bytes, ts: int, row: _Row) -> None:
        history = self.histories.get(key)
        if history is None:
            history = self.histories[key] = _History()
            insort(self.keys, key)
        history.put(ts, row)


class MemoryPersistence:
    """Persistence in this process's memory (see the module docstring)."""

    local_reads = True

    def __init__(self) -> None:
        self.description = "in memory (nothing is saved)"
        self._tables: dict[bytes, _Ordered[DocumentRevision]] = {}
        # An index entry is stored as (table_id, document_id); document_id None = tombstone.
        self._indexes: dict[bytes, _Ordered[tuple[bytes, bytes | None]]] = {}
        self._globals: dict[str, bytes] = {}
        self._max_ts = 0
        self._open = False

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    def _check_open(self) -> None:
        if not self._open:
            raise InternalError("In-memory persistence is not open")

    async def max_ts(self) -> int:
        self._check_open()
        return self._max_ts

    async def write(
        self,
        documents: Sequence[DocumentRevision],
        indexes: Sequence[IndexEntry],
        globals_: dict[str, Any] | None = None,
    ) -> None:
        self._check_open()
        # Check and convert everything first: a bad row must leave nothing behind.
        docs = [_document(d) for d in documents]
        entries = [_entry(e) for e in indexes]
        encoded = {_text(k): orjson.dumps(v) for k, v in (globals_ or {}).items()}
        for doc in docs:
            table = self._tables.get(doc.table_id)
            if table is None:
                table = self._tables[doc.table_id] = _Ordered()
            table.put(doc.id, doc.ts, doc)
            self._max_ts = max(self._max_ts, doc.ts)
        for entry in entries:
            index = self._indexes.get(entry.index_id)
            if index is None:
                index = self._indexes[entry.index_id] = _Ordered()
            index.put(entry.key, entry.ts, (entry.table_id, entry.document_id))
        self._globals.update(encoded)

    def _document_at(self, table_id: bytes, id: bytes, ts: int) -> DocumentRevision | None:
        table = self._tables.get(table_id)
        history = table.histories.get(id) if table is not None else None
        return history.at(ts) if history is not None else None

    async def get_document(self, table_id: bytes, id: bytes, ts: int) -> DocumentRevision | None:
        self._check_open()
        return self._document_at(table_id, id, ts)

    async def get_documents(
        self, keys: Sequence[tuple[bytes, bytes]], ts: int
    ) -> dict[tuple[bytes, bytes], DocumentRevision]:
        self._check_open()
        out: dict[tuple[bytes, bytes], DocumentRevision] = {}
        for table_id, id in keys:
            revision = self._document_at(table_id, id, ts)
            if revision is not None:
                out[(table_id, id)] = revision
        return out

    async def index_scan(
        self,
        index_id: bytes,
        start: bytes,
        end: bytes | None,
        ts: int,
        order: Order,
        limit: int,
    ) -> list[IndexHit]:
        self._check_open()
        index = self._indexes.get(index_id)
        if index is None or limit <= 0 or (end is not None and end <= start):
            return []
        keys = index.keys
        lo = bisect_left(keys, start)
        hi = len(keys) if end is None else bisect_left(keys, end)
        positions = range(lo, hi) if order == "asc" else range(hi - 1, lo - 1, -1)
        hits: list[IndexHit] = []
        for i in positions:
            key = keys[i]
            entry = index.histories[key].at(ts)
            if entry is None or entry[1] is None:
                continue
            table_id, document_id = entry
            revision = self._document_at(table_id, document_id, ts)
            if revision is None or revision.value is None:
                # An index entry always points at a live revision at or before its own ts.
                raise InternalError(f"Index entry without a live document (index {index_id.hex()})")
            hits.append(IndexHit(key, revision))
            if len(hits) == limit:
                break
        return hits

    async def index_keys(
        self,
        index_id: bytes,
        start: bytes,
        end: bytes | None,
        ts: int,
        limit: int,
        order: Order = "asc",
    ) -> list[tuple[bytes, bytes]]:
        self._check_open()
        index = self._indexes.get(index_id)
        if index is None or limit <= 0 or (end is not None and end <= start):
            return []
        keys = index.keys
        lo = bisect_left(keys, start)
        hi = len(keys) if end is None else bisect_left(keys, end)
        positions = range(lo, hi) if order == "asc" else range(hi - 1, lo - 1, -1)
        out: list[tuple[bytes, bytes]] = []
        for i in positions:
            entry = index.histories[keys[i]].at(ts)
            if entry is not None and entry[1] is not None:
                out.append((keys[i], entry[1]))
                if len(out) == limit:
                    break
        return out

    async def scan_table(
        self, table_id: bytes, ts: int, after: bytes | None, limit: int
    ) -> list[DocumentRevision]:
        self._check_open()
        table = self._tables.get(table_id)
        if table is None or limit <= 0:
            return []
        ids = table.keys
        out: list[DocumentRevision] = []
        for i in range(bisect_right(ids, after or b""), len(ids)):
            revision = table.histories[ids[i]].at(ts)
            if revision is not None and revision.value is not None:
                out.append(revision)
                if len(out) == limit:
                    break
        return out

    async def load_globals(self) -> dict[str, Any]:
        self._check_open()
        return {k: orjson.loads(v) for k, v in self._globals.items()}

    async def delete_index_entries(self, index_id: bytes) -> None:
        self._check_open()
        self._indexes.pop(index_id, None)


def _document(d: DocumentRevision) -> DocumentRevision:
    """`d` with its fields checked, as the SQL engines' column types would."""
    return DocumentRevision(
        _bytes(d.table_id, "table_id"),
        _bytes(d.id, "id"),
        _int(d.ts, "ts"),
        None if d.value is None else _bytes(d.value, "value"),
        None if d.prev_ts is None else _int(d.prev_ts, "prev_ts"),
    )


def _entry(e: IndexEntry) -> IndexEntry:
    return IndexEntry(
        _bytes(e.index_id, "index_id"),
        _bytes(e.key, "key"),
        _int(e.ts, "ts"),
        _bytes(e.table_id, "table_id"),
        None if e.document_id is None else _bytes(e.document_id, "document_id"),
    )


def _bytes(value: object, field: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{field} must be bytes, not {type(value).__name__}")


def _int(value: object, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value in _INT64:
        return value
    raise TypeError(f"{field} must be a 64-bit integer, not {value!r}")


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"a global's name must be a str, not {type(value).__name__}")
