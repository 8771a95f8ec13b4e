"""The persistence interface: an append-only document log, versioned index entries, globals.

Everything above this layer (the database) sees storage only through `Persistence`.
Rows are plain bytes and integers; what they mean is the database's business:

- a *document revision* is one write of one document: `(table_id, id, ts)` → the document's
  Convex-encoded JSON text, or a tombstone (`value is None`) for a delete;
- an *index entry* is `(index_id, key, ts)` → the document that holds `key` from `ts` on, or
  a tombstone when the key stopped being held at `ts`. Entries are written only when a
  document's key in that index changes (insert, delete, or an update that moves the key),
  so an update that leaves the key alone costs no index row;
- *globals* are a small JSON key/value map (bootstrap ids, the storage fingerprint …).

Reads are at a snapshot timestamp `ts` and see exactly the rows with `row.ts <= ts`.
`write` is all-or-nothing and durable when it returns: that is the whole commit contract.
Timestamps are nanoseconds since the Unix epoch, strictly increasing across commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

Order = Literal["asc", "desc"]


@dataclass(frozen=True, slots=True)
class DocumentRevision:
    """One revision of a document; `value` is None for a delete (tombstone)."""

    table_id: bytes  # 16 bytes: the tablet's id
    id: bytes  # 16 bytes: the document's internal id
    ts: int
    value: bytes | None  # Convex-encoded JSON text of the whole document
    prev_ts: int | None = None


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """`key` in index `index_id` points at document `(table_id, document_id)` from `ts` on.

    `document_id is None` is a tombstone: from `ts` on no document holds `key`.
    """

    index_id: bytes
    key: bytes
    ts: int
    table_id: bytes
    document_id: bytes | None


@dataclass(frozen=True, slots=True)
class IndexHit:
    """A live index key at a snapshot, with the document revision it points at."""

    key: bytes
    revision: DocumentRevision


@runtime_checkable
class Persistence(Protocol):
    """Storage for Bayou's data. Implementations: SQLite (embedded), PostgreSQL, memory.

    A single process writes (`write` is called by one committer at a time); reads may run
    concurrently with each other and with a write, and never see a partial write.
    """

    #: Human-readable description for start-up banners and `doctor` ("SQLite at /x/db.sqlite3").
    description: str
    #: Reads cost no network round trip (SQLite, memory): a query then reads an index range's
    #: keys and takes the documents from the document cache, fetching only what it misses.
    local_reads: bool

    async def open(self) -> None:
        """Create the schema if needed and take the single-writer lease."""

    async def close(self) -> None:
        """Release connections and the lease. Idempotent."""

    async def max_ts(self) -> int:
        """The largest timestamp of any document revision, 0 for an empty store."""

    async def write(
        self,
        documents: Sequence[DocumentRevision],
        indexes: Sequence[IndexEntry],
        globals_: dict[str, Any] | None = None,
    ) -> None:
        """Append the rows (and upsert globals) in one atomic, durable transaction.

        Rewriting an identical row (same primary key) is allowed and must be idempotent, so
        that index backfill may race with the committer safely.
        """

    async def get_document(self, table_id: bytes, id: bytes, ts: int) -> DocumentRevision | None:
        """The newest revision of `(table_id, id)` with `revision.ts <= ts`, tombstones included."""

    async def get_documents(
        self, keys: Sequence[tuple[bytes, bytes]], ts: int
    ) -> dict[tuple[bytes, bytes], DocumentRevision]:
        """`get_document` for many keys at once; keys with no revision are absent."""

    async def index_scan(
        self,
        index_id: bytes,
        start: bytes,
        end: bytes | None,
        ts: int,
        order: Order,
        limit: int,
    ) -> list[IndexHit]:
        """Up to `limit` live keys of `index_id` in `[start, end)` at snapshot `ts`, in `order`.

        `end=None` means unbounded. For each key the newest entry with `entry.ts <= ts`
        counts; tombstoned keys are skipped; each hit carries the newest revision (at `ts`)
        of the document the entry points at.
        """

    async def index_keys(
        self,
        index_id: bytes,
        start: bytes,
        end: bytes | None,
        ts: int,
        limit: int,
        order: Order = "asc",
    ) -> list[tuple[bytes, bytes]]:
        """`index_scan` without the documents: `(key, document_id)` pairs (search postings
        carry what ranking needs in their keys; a query over a local database takes its
        documents from the document cache)."""

    async def scan_table(
        self, table_id: bytes, ts: int, after: bytes | None, limit: int
    ) -> list[DocumentRevision]:
        """Live documents of a table at `ts` in internal-id order, after id `after`, paged.

        Used for bootstrap, index backfill, schema validation and export.
        """

    async def load_globals(self) -> dict[str, Any]:
        """All globals."""

    async def delete_index_entries(self, index_id: bytes) -> None:
        """Remove every entry of a dropped index (retention of dropped indexes)."""
