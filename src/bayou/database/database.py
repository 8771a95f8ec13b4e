"""The database: opens persistence, keeps the catalog and write log, begins and commits.

`Database.open(persistence, ...)` bootstraps an empty store (the `_tables`, `_index` and
`_schemas` system tables describing themselves) or loads the catalog of an existing one,
starts the committer, and makes sure the system tables the layers above declare exist.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bayou.database.catalog import (
    BY_CREATION_TIME,
    BY_ID,
    CORE_SYSTEM_TABLES,
    INDEXES,
    SCHEMAS,
    TABLES,
    Catalog,
    IndexInfo,
    SystemTable,
    TableInfo,
)
from bayou.database.committer import Committer
from bayou.database.contention import HotKeys
from bayou.database.document import Doc
from bayou.database.document_cache import DocumentCache
from bayou.database.in_flight import InFlight
from bayou.database.index_cache import IndexRangeCache
from bayou.database.indexing import backfill_index
from bayou.database.limits import DEFAULT_LIMITS, TransactionLimits
from bayou.database.migrations import FORMAT, MIGRATIONS, Migration, check_format, migrate
from bayou.database.transaction import Transaction
from bayou.database.write_log import LogEntry, WriteLog
from bayou.errors import BadRequest, BayouError, InternalError
from bayou.persistence.base import Order, Persistence
from bayou.values import ids
from bayou.values import json as vjson

if TYPE_CHECKING:
    from bayou.database.search.vectors import VectorIndexes

CommitListener = Callable[[list[LogEntry]], None]
SCAN_PAGE = 1000
CATALOG_HISTORY = 64


class Database:
    """One Bayou database over one persistence; see the package docs for the model."""

    def __init__(
        self,
        persistence: Persistence,
        *,
        cursor_key: bytes,
        system_tables: Iterable[SystemTable] = (),
        clock: Callable[[], int] = time.time_ns,
        limits: TransactionLimits = DEFAULT_LIMITS,
        write_log: WriteLog | None = None,
    ) -> None:
        self.persistence = persistence
        self.cursor_key = cursor_key
        self.limits = limits
        self.clock = clock
        self.system_tables: dict[str, SystemTable] = {t.name: t for t in CORE_SYSTEM_TABLES}
        for t in system_tables:
            self.system_tables[t.name] = t
        self.system_table_names = frozenset(self.system_tables)
        self.write_log = write_log or WriteLog()
        self.hot_keys = HotKeys()
        # Set when the database can no longer commit (another process took the writer
        # lease): the server must stop rather than keep answering from stale state.
        self.fatal: BayouError | None = None
        self.fatal_event = asyncio.Event()
        self.documents = DocumentCache()
        self.index_ranges = IndexRangeCache()
        # The batch the committer is making durable, once sequenced (`in_flight.py`).
        self.in_flight: InFlight | None = None
        self.catalog = Catalog()
        self.latest_ts = 0
        self._catalogs: list[tuple[int, Catalog]] = []
        self._listeners: list[CommitListener] = []
        self._advanced = asyncio.Condition()
        self.committer = Committer(self, clock=clock)
        self._vectors: VectorIndexes | None = None

    @property
    def vectors(self) -> VectorIndexes:
        """Vector search caches, loaded on first use (with numpy: not at start-up)."""
        if self._vectors is None:
            from bayou.database.search.vectors import VectorIndexes

            self._vectors = VectorIndexes(self)
        return self._vectors

    @classmethod
    async def open(
        cls,
        persistence: Persistence,
        *,
        cursor_key: bytes,
        system_tables: Iterable[SystemTable] = (),
        migrations: Sequence[Migration] = MIGRATIONS,
        **kwargs: Any,
    ) -> Database:
        """Open (bootstrapping if empty, migrating if older) and start committing."""
        db = cls(persistence, cursor_key=cursor_key, system_tables=system_tables, **kwargs)
        await persistence.open()
        try:
            globals_ = await persistence.load_globals()
            db.latest_ts = await persistence.max_ts()
            stored = None
            if "tables_table_id" in globals_:
                current = migrations[-1].version if migrations else 1
                stored = check_format(globals_.get("format"), current)
                await db._load_catalog(globals_)
            else:
                db._seed_core_catalog()
            db._remember_catalog()
            db.write_log.reset(db.latest_ts)
            db.committer.start()
            if stored is None:
                await db._bootstrap(migrations[-1].version if migrations else 1)
            await db._ensure_system_tables()
            if stored is not None:
                await migrate(db, stored, migrations)
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        await self.committer.stop()
        await self.persistence.close()

    # -- transactions ------------------------------------------------------------------

    def begin(
        self,
        *,
        read_only: bool = False,
        ts: int | None = None,
        namespace: str = "",
        limits: TransactionLimits | None = None,
        through_in_flight: bool = False,
    ) -> Transaction:
        """A transaction at the latest timestamp (or at `ts`, read-only history reads).

        `through_in_flight`: when the committer is making a batch durable, read at that
        batch's timestamp through it (a hot lock holder whose predecessor is in it).
        """
        flight = self.in_flight
        if through_in_flight and ts is None and flight is not None and not flight.done:
            tx = Transaction(
                self, flight.ts, self.catalog, namespace=namespace, limits=limits or self.limits
            )
            tx.overlay = flight
            return tx
        if ts is None or ts == self.latest_ts:
            ts, catalog = self.latest_ts, self.catalog
        else:
            if ts > self.latest_ts:
                raise BadRequest(
                    f"Timestamp {ts} is in the future (latest is {self.latest_ts})",
                    code="InvalidTimestamp",
                )
            if not read_only:
                raise BadRequest(
                    "Only read-only transactions can read history", code="InvalidTimestamp"
                )
            catalog = self.catalog_at(ts)
        return Transaction(
            self,
            ts,
            catalog,
            read_only=read_only,
            namespace=namespace,
            limits=limits or self.limits,
        )

    async def index_range(
        self,
        table: TableInfo,
        index_id: bytes,
        start: bytes,
        end: bytes | None,
        ts: int,
        order: Order,
        limit: int,
        overlay: InFlight | None = None,
    ) -> list[tuple[bytes, Doc]]:
        """Up to `limit` live keys of an index range of `table` at `ts`, with their documents.

        Over a local database a user table's documents come from the document cache where
        it knows them (no query and no JSON decoding per document), and the rest in one
        read; over a remote one the scan fetches them with the keys, in one round trip.
        Through an `overlay` (the in-flight batch, which `ts` is the timestamp of) the keys
        come from storage when the batch moved none of the range's keys (else the read
        waits for the batch), and the documents the batch wrote from it.
        """
        if overlay is not None:
            if overlay.failed:
                raise overlay.conflict()
            if not overlay.done and overlay.moves_within(index_id, start, end):
                await overlay.settle()
        persistence = self.persistence
        if not persistence.local_reads or table.is_system:
            # System documents are written unchecked (a cron's arguments as the CLI sent
            # them): only their stored JSON is canonical, so they are always decoded from it.
            hits = await persistence.index_scan(index_id, start, end, ts, order, limit)
            if overlay is None:
                return [(h.key, Doc.from_revision(table, h.revision)) for h in hits]
            out = []
            for h in hits:
                known, doc = overlay.lookup((table.id, h.revision.id))
                if not known or doc is None:
                    doc = Doc.from_revision(table, h.revision)
                out.append((h.key, doc))
            return out
        range_key = (index_id, start, end, order, limit)
        keys = self.index_ranges.lookup(range_key, ts)
        if keys is None:
            keys = await persistence.index_keys(index_id, start, end, ts, limit, order)
            if self.latest_ts == ts:  # nothing committed since: safe to cache
                self.index_ranges.fill(range_key, ts, keys)
        cache = self.documents
        found: dict[bytes, Doc | None] = {}
        missing: list[tuple[bytes, bytes]] = []
        for _, document_id in keys:
            key = (table.id, document_id)
            known, doc = (False, None) if overlay is None else overlay.lookup(key)
            if not known:
                known, doc = cache.lookup(key, ts)
            if known:
                found[document_id] = doc
            else:
                missing.append((table.id, document_id))
        if missing:
            revisions = await persistence.get_documents(missing, ts)
            newest = self.latest_ts == ts  # nothing committed since: safe to cache
            for key in missing:
                revision = revisions.get(key)
                live = revision is not None and revision.value is not None
                doc = Doc.from_revision(table, revision) if live else None  # type: ignore[arg-type]
                found[key[1]] = doc
                if newest:
                    cache.fill(key, revision.ts if revision is not None else 0, doc)
        out: list[tuple[bytes, Doc]] = []
        for key, document_id in keys:
            doc = found[document_id]
            if doc is None:
                # An index entry always points at a live revision at or before its own ts.
                raise InternalError(f"Index entry without a live document (index {index_id.hex()})")
            out.append((key, doc))
        return out

    async def commit(self, tx: Transaction) -> int:
        """Validate and persist; returns the commit timestamp or raises OccError."""
        if not tx.writes and not tx.globals:
            if tx.overlay is not None:
                await tx.overlay.settle()  # what it read must be durable before it is told
            return tx.begin_ts  # nothing to make durable: serializable at its snapshot
        if self.fatal is not None:
            raise self.fatal
        return await self.committer.commit(tx)

    def catalog_at(self, ts: int) -> Catalog:
        i = bisect_right([t for t, _ in self._catalogs], ts) - 1
        if i < 0:
            raise BadRequest(f"Timestamp {ts} is too old to read", code="InvalidTimestamp")
        return self._catalogs[i][1]

    # -- commit notifications ----------------------------------------------------------

    def add_commit_listener(self, listener: CommitListener) -> None:
        """Call `listener(entries)` after every published batch of commits."""
        self._listeners.append(listener)

    def remove_commit_listener(self, listener: CommitListener) -> None:
        self._listeners.remove(listener)

    async def wait_for_ts(self, ts: int, timeout: float | None = None) -> bool:
        """Wait until a commit at or after `ts` is published; False on timeout."""
        if self.latest_ts >= ts:
            return True
        async with self._advanced:
            try:
                await asyncio.wait_for(
                    self._advanced.wait_for(lambda: self.latest_ts >= ts), timeout
                )
            except TimeoutError:
                return False
        return True

    def _publish(
        self,
        entries: list[LogEntry],
        catalog: Catalog,
        documents: list[tuple[tuple[bytes, bytes], int, Doc | None]],
        moves: Iterable[tuple[bytes, int]] = (),
    ) -> None:
        """Called by the committer once a batch is durable (`moves`: the indexes whose
        keys it added or removed, with the commit's ts)."""
        for entry in entries:
            self.write_log.append(entry)
        cache = self.documents
        for key, ts, doc in documents:
            cache.publish(key, ts, doc)
        self.index_ranges.publish_moves(moves)
        self.latest_ts = entries[-1].ts
        if catalog is not self.catalog:
            self.catalog = catalog
            self.index_ranges.clear()
            self._remember_catalog()
        for listener in list(self._listeners):
            listener(entries)
        asyncio.get_running_loop().create_task(self._notify_advanced())

    async def _notify_advanced(self) -> None:
        async with self._advanced:
            self._advanced.notify_all()

    def fail(self, error: BayouError) -> None:
        """Stop accepting work for good (called by the committer on a lost lease)."""
        if self.fatal is None:
            self.fatal = error
            self.fatal_event.set()

    def _remember_catalog(self) -> None:
        self._catalogs.append((self.latest_ts, self.catalog))
        del self._catalogs[:-CATALOG_HISTORY]

    # -- bootstrap and loading -------------------------------------------------------

    def _seed_core_catalog(self) -> None:
        """The in-memory description of `_tables` and `_index`, before they hold any rows."""
        tables: dict[bytes, TableInfo] = {}
        for definition in (TABLES, INDEXES):
            table_id = ids.new_internal_id()
            indexes = {}
            for name, fields in [(BY_ID, ()), (BY_CREATION_TIME, ()), *definition.indexes.items()]:
                kind = "by_id" if name == BY_ID else "database"
                indexes[name] = IndexInfo(
                    ids.new_internal_id(), table_id, name, tuple(fields), kind
                )
            tables[table_id] = TableInfo(table_id, definition.name, definition.number, "", indexes)
        self.catalog = Catalog(tables)

    async def _bootstrap(self, format: int = FORMAT) -> None:
        """Write the rows that describe `_tables` and `_index`, and create `_schemas`."""
        tx = self.begin()
        core = [self.catalog.table(TABLES.name), self.catalog.table(INDEXES.name)]
        for table in core:
            assert table is not None
            tx._insert_metadata(
                core[0],  # type: ignore[arg-type]
                table.id,
                {"name": table.name, "number": float(table.number), "namespace": ""},
            )
        for table in core:
            assert table is not None
            for index in table.indexes.values():
                tx._insert_metadata(
                    core[1],  # type: ignore[arg-type]
                    index.id,
                    {
                        "tableId": ids.encode_id(TABLES.number, table.id),
                        "name": index.name,
                        "fields": list(index.fields),
                        "kind": index.kind,
                        "state": "enabled",
                        "staged": False,
                    },
                )
        tx._create_table(SCHEMAS.name, SCHEMAS)
        tx.globals = {
            "tables_table_id": core[0].id.hex(),  # type: ignore[union-attr]
            "index_table_id": core[1].id.hex(),  # type: ignore[union-attr]
            "format": format,
        }
        await self.commit(tx)

    async def _load_catalog(self, globals_: dict[str, Any]) -> None:
        tables_id = bytes.fromhex(globals_["tables_table_id"])
        index_id = bytes.fromhex(globals_["index_table_id"])
        catalog = Catalog()
        async for internal_id, doc in self._scan(tables_id):
            catalog = catalog.with_table_doc(internal_id, doc)
        async for internal_id, doc in self._scan(index_id):
            catalog = catalog.with_index_doc(internal_id, doc)
        schemas = catalog.table(SCHEMAS.name)
        if schemas is None:
            raise InternalError("The database has no `_schemas` table: it is damaged")
        async for internal_id, doc in self._scan(schemas.id):
            catalog = catalog.with_schema_doc(internal_id, doc)
        self.catalog = catalog

    async def _scan(self, table_id: bytes):
        after: bytes | None = None
        while True:
            page = await self.persistence.scan_table(table_id, self.latest_ts, after, SCAN_PAGE)
            for revision in page:
                assert revision.value is not None
                yield revision.id, vjson.loads(revision.value)
            if len(page) < SCAN_PAGE:
                return
            after = page[-1].id

    async def _ensure_system_tables(self) -> None:
        """Create declared system tables that do not exist, and their missing indexes."""
        tx = self.begin()
        new_indexes: list[bytes] = []
        for definition in self.system_tables.values():
            table = tx.table_for_read(definition.name)
            if table is None:
                tx._create_table(definition.name, definition)
                continue
            for name, fields in definition.indexes.items():
                if name not in table.indexes:
                    new_indexes.append(
                        tx.add_index(table, name, tuple(fields), state="backfilling")
                    )
        if not tx.writes:
            return
        await self.commit(tx)
        for index_id in new_indexes:
            await backfill_index(self, index_id)
            await self.enable_index(index_id)

    async def enable_index(self, index_id: bytes) -> None:
        """Make a backfilled index queryable."""
        tx = self.begin()
        index_table = tx.catalog.table(INDEXES.name)
        assert index_table is not None
        doc = await tx.get_doc(index_table, index_id)
        if doc is None:
            raise InternalError("Index to enable does not exist")
        await tx.patch(doc.id, {"state": "enabled"}, system=True)
        await self.commit(tx)
