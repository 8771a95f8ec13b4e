"""The committer: the one place that validates transactions and makes them durable.

Commits queue up; the committer takes everything waiting as one batch (group commit),
validates each transaction's read set against the write log after its snapshot and
against the batch members validated before it, assigns strictly increasing timestamps,
writes the whole batch to persistence in one durable transaction, and only then publishes:
the new latest timestamp, the write-log entries, the catalog, and each caller's result.
A rejected transaction learns the timestamp of the commit it lost to, so its retry can
start from a snapshot that already contains it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bayou.database.catalog import Catalog
from bayou.database.contention import Key
from bayou.database.document import Doc
from bayou.database.in_flight import InFlight
from bayou.database.index_key import document_key
from bayou.database.read_set import ReadSet
from bayou.database.search.postings import commit_postings
from bayou.database.transaction import Transaction, apply_metadata_write
from bayou.database.write_log import LogEntry, head_of
from bayou.errors import BayouError, InternalError, OccError
from bayou.persistence.base import DocumentRevision, IndexEntry
from bayou.values import Int64
from bayou.values.model import contains_commit_ts, with_commit_ts

if TYPE_CHECKING:
    from bayou.database.database import Database

MAX_BATCH = 512

log = logging.getLogger("bayou.database")


@dataclass(slots=True)
class CommitRows:
    """What one transaction persists and logs."""

    documents: list[DocumentRevision] = field(default_factory=list)
    indexes: list[IndexEntry] = field(default_factory=list)
    keys: list[tuple[bytes, bytes]] = field(default_factory=list)
    # (index id, key) of every index key added or removed (not those merely rewritten).
    moved: list[tuple[bytes, bytes]] = field(default_factory=list)
    # (index id, first-field prefix) of every key written in a database index (write_log.py)
    heads: list[tuple[bytes, bytes]] = field(default_factory=list)
    tables: set[str] = field(default_factory=set)
    catalog: Catalog | None = None  # set when the commit changed metadata


def commit_rows(tx_writes, catalog: Catalog, ts: int) -> CommitRows:
    """Document revisions, index entries and write-log keys for a transaction at `ts`.

    Indexes come from `catalog` — the latest one, with the transaction's own metadata
    writes applied — so an index created (and still backfilling) after the transaction
    began is maintained by it too.
    """
    rows = CommitRows()
    metadata = [w for w in tx_writes if w.table.name in ("_tables", "_index", "_schemas")]
    for w in metadata:
        catalog = apply_metadata_write(catalog, w)
    if metadata:
        rows.catalog = catalog
    for w in tx_writes:
        if w.old is None and w.new is None:
            continue
        table = catalog.table_by_id(w.table.id)
        if table is None:
            raise InternalError(f"Commit writes to table {w.table.name!r}, which no longer exists")
        rows.tables.add(table.name)
        rows.documents.append(
            DocumentRevision(
                table.id,
                w.internal_id,
                ts,
                w.new.json if w.new is not None else None,
                w.old.ts if w.old is not None else None,
            )
        )
        for index in table.indexes.values():
            if index.kind in ("search", "vector"):
                log_keys, entries = commit_postings(index, table.id, w, ts)
                rows.keys.extend(log_keys)
                rows.indexes.extend(entries)
                continue
            old_key = document_key(index, w.internal_id, w.old.value) if w.old else None
            new_key = document_key(index, w.internal_id, w.new.value) if w.new else None
            if old_key is not None:
                rows.keys.append((index.id, old_key))
            if new_key is not None and new_key != old_key:
                rows.keys.append((index.id, new_key))
            if index.kind != "by_id":  # sort keys (by_id's are the documents' ids)
                if old_key is not None:
                    rows.heads.append((index.id, head_of(old_key)))
                if new_key is not None and new_key != old_key:
                    rows.heads.append((index.id, head_of(new_key)))
            if old_key != new_key:
                if old_key is not None:
                    rows.moved.append((index.id, old_key))
                if new_key is not None:
                    rows.moved.append((index.id, new_key))
            if index.kind == "by_id" or old_key == new_key:
                continue  # by_id lives in the documents table; unmoved keys need no entry
            if old_key is not None:
                rows.indexes.append(IndexEntry(index.id, old_key, ts, table.id, None))
            if new_key is not None:
                rows.indexes.append(IndexEntry(index.id, new_key, ts, table.id, w.internal_id))
    return rows


@dataclass(slots=True)
class _Request:
    tx: Transaction | None
    future: asyncio.Future[int]
    # Index entries written outside any transaction (backfill): no validation, no new ts.
    raw_indexes: list[IndexEntry] | None = None


class Committer:
    """Runs as one asyncio task per database."""

    def __init__(self, db: Database, *, clock: Callable[[], int] = time.time_ns) -> None:
        self._db = db
        self._clock = clock
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.last_assigned_ts = 0
        self.batches = 0
        self.commits = 0
        self.conflicts = 0
        # Called after each durable batch with (commits in it, seconds its write took).
        self.observers: list[Callable[[int, float], None]] = []

    def start(self) -> None:
        self.last_assigned_ts = self._db.latest_ts
        self._task = asyncio.get_running_loop().create_task(self._run(), name="bayou-committer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        while not self._queue.empty():
            req = self._queue.get_nowait()
            if not req.future.done():
                req.future.set_exception(InternalError("The database is shutting down"))

    async def commit(self, tx: Transaction) -> int:
        if self._task is None or self._task.done():
            raise InternalError("The database is not running")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Request(tx, future))
        return await future

    async def write_index_entries(self, entries: list[IndexEntry]) -> None:
        """Persist backfilled index entries through the single writer."""
        if self._task is None or self._task.done():
            raise InternalError("The database is not running")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Request(None, future, entries))
        await future

    def next_ts(self) -> int:
        ts = max(self.last_assigned_ts + 1, self._db.latest_ts + 1, self._clock())
        self.last_assigned_ts = ts
        return ts

    async def _run(self) -> None:
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < MAX_BATCH:
                batch.append(queue.get_nowait())
            try:
                await self._commit_batch(batch)
            except asyncio.CancelledError:
                for req in batch:
                    if not req.future.done():
                        req.future.set_exception(InternalError("The database is shutting down"))
                raise
            except BaseException as e:  # never let the committer die silently
                err = e if isinstance(e, BayouError) else InternalError(f"Commit failed: {e!r}")
                for req in batch:
                    if not req.future.done():
                        req.future.set_exception(err)
            finally:
                batch.clear()  # waiting for the next batch must not keep this one's transactions

    async def _commit_batch(self, batch: list[_Request]) -> None:
        db = self._db
        catalog = db.catalog
        accepted: list[tuple[_Request, int, CommitRows]] = []
        rejected: list[tuple[_Request, BayouError]] = []
        pending: list[LogEntry] = []
        documents: list[DocumentRevision] = []
        indexes: list[IndexEntry] = []
        globals_: dict[str, object] = {}
        moved: list[tuple[bytes, bytes]] = []
        raw: list[_Request] = []
        for req in batch:
            tx = req.tx
            if req.future.done():  # the caller went away (cancelled)
                continue
            if tx is None:
                indexes.extend(req.raw_indexes or ())
                raw.append(req)
                continue
            if tx.overlay is not None and tx.overlay.failed:
                rejected.append((req, tx.overlay.conflict()))  # it read a commit that failed
                continue
            reads = tx.finalize_reads()
            conflict = db.write_log.first_conflict(reads, tx.begin_ts)
            if conflict is None:
                conflict = next((e for e in pending if reads.touched_by(e.keys)), None)
            if conflict is not None:
                key = (
                    _conflict_key(reads, conflict.keys, catalog)
                    if isinstance(conflict, LogEntry)
                    else None
                )
                if key is not None:
                    db.hot_keys.mark(key)
                rejected.append((req, _occ_error(conflict, db.latest_ts, key)))
                self.conflicts += 1
                continue
            try:
                ts = self.next_ts()
                if tx.writes_commit_ts:
                    resolve_commit_ts(tx, ts)
                rows = commit_rows(list(tx.writes.values()), catalog, ts)
            except BayouError as e:
                rejected.append((req, e))
                continue
            if rows.catalog is not None:
                catalog = rows.catalog
            pending.append(
                LogEntry.create(ts, tuple(rows.keys), tuple(sorted(rows.tables)), tuple(rows.heads))
            )
            documents.extend(rows.documents)
            indexes.extend(rows.indexes)
            moved.extend(rows.moved)
            if tx.globals:
                globals_.update(tx.globals)
            accepted.append((req, ts, rows))
        published = _published_documents(accepted)
        flight = None
        if accepted and not raw and catalog is db.catalog:
            # Sequenced: hand hot locks on now; the next holders read through the batch.
            flight = db.in_flight = InFlight(accepted[-1][1], published, moved)
            for req, _, _ in accepted:
                if req.tx.on_sequenced is not None:
                    req.tx.on_sequenced()
        durable = False
        try:
            if accepted or raw:
                durable = await self._write(
                    accepted, raw, pending, catalog, published, documents, indexes, globals_
                )
        finally:
            if flight is not None:
                if db.in_flight is flight:
                    db.in_flight = None
                flight.finish(ok=durable)
        for req in raw:
            if not req.future.done():
                req.future.set_result(0)
        for req, ts, _ in accepted:
            if not req.future.done():
                req.future.set_result(ts)
        for req, err in rejected:
            if not req.future.done():
                req.future.set_exception(err)

    async def _write(
        self,
        accepted: list[tuple[_Request, int, CommitRows]],
        raw: list[_Request],
        pending: list[LogEntry],
        catalog: Catalog,
        published: list[tuple[tuple[bytes, bytes], int, Doc | None]],
        documents: list[DocumentRevision],
        indexes: list[IndexEntry],
        globals_: dict[str, object],
    ) -> bool:
        """Persist and publish a validated batch: whether it is durable. On failure every
        caller's future gets the error."""
        db = self._db
        started = time.perf_counter()
        try:
            await db.persistence.write(documents, indexes, globals_ or None)
        except BaseException as e:
            err = (
                e if isinstance(e, BayouError) else InternalError(f"Writing the commit failed: {e}")
            )
            if err.code == "LeaseLost":
                db.fail(err)
            elif isinstance(e, Exception):
                log.error("%d commit(s) failed: %s", len(accepted) + len(raw), err.message)
            for req in [*(a[0] for a in accepted), *raw]:
                if not req.future.done():
                    req.future.set_exception(err)
            if not isinstance(e, Exception):
                raise
            return False
        if raw:
            db.index_ranges.clear()  # backfilled entries change ranges at past snapshots too
        if pending:
            moves = {(index_id, ts) for _, ts, rows in accepted for index_id, _ in rows.moved}
            db._publish(pending, catalog, published, moves)
        self.batches += 1
        self.commits += len(accepted)
        for observer in self.observers:
            observer(len(accepted), time.perf_counter() - started)
        return True


def resolve_commit_ts(tx: Transaction, ts: int) -> None:
    """Replace the `db.vars.commitTs` placeholders a transaction wrote with its commit
    timestamp (an Int64 of nanoseconds), before its rows are written."""
    stamp = Int64(ts)
    for w in tx.writes.values():
        if w.new is not None and contains_commit_ts(w.new.value):
            value = with_commit_ts(w.new.value, stamp)
            w.new = Doc(w.new.table, w.internal_id, value)


def _published_documents(accepted) -> list:
    """(key, ts, doc) for every document the accepted transactions wrote, for the cache."""
    out = []
    for req, ts, _ in accepted:
        for w in req.tx.writes.values():
            if w.old is None and w.new is None:
                continue
            new = w.new
            doc = None if new is None else Doc(new.table, w.internal_id, new.value, ts, new.json)
            out.append(((w.table.id, w.internal_id), ts, doc))
    return out


def _occ_error(
    conflict: LogEntry | bool, latest_ts: int, key: tuple[bytes, bytes] | None
) -> OccError:
    if conflict is True:
        return OccError(
            "The transaction took too long: its snapshot is older than the write log. Retry it.",
            conflict_ts=latest_ts,
        )
    assert isinstance(conflict, LogEntry)
    table = conflict.tables[0] if conflict.tables else None
    return OccError(
        f"Documents read from or written to the {table!r} table changed while this "
        "transaction was being run.",
        table=table,
        conflict_ts=conflict.ts,
        conflict_key=key,
    )


def _conflict_key(reads: ReadSet, written: tuple[Key, ...], catalog: Catalog) -> Key | None:
    """The written key a conflicting read touched, preferring a document's `by_id` key:
    that is the key a retry's point read checks against its admission locks, so one lock
    covers the document whichever of its index entries the conflict came through (a
    sharded counter's shard is read by index, then patched by id)."""
    first = None
    for key in written:
        if reads.touched_by((key,)) is None:
            continue
        table = catalog.table_of_index(key[0])
        if (
            table is not None
            and table.indexes.get("by_id") is not None
            and (table.by_id.id == key[0])
        ):
            return key
        if first is None:
            first = key
    return first
