"""Transactions: a snapshot, the reads it consumed, and the writes it buffers.

A transaction reads at `begin_ts` through an overlay of its own buffered writes (so it
reads its own writes, in `get` and in index ranges alike), records every index interval
it consumes in its read set, and buffers writes until the committer validates the read set
against everything committed after `begin_ts` (db-semantics.md §2).

User code reaches user tables only; `system=True` (used by Bayou's own model layer) opens
the `_`-prefixed system tables. Metadata — tables, indexes, schemas — lives in system
tables too, so creating a table is an ordinary write that conflicts like any other.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bayou.database import limits as tx_limits
from bayou.database.catalog import (
    BY_CREATION_TIME,
    BY_ID,
    INDEXES,
    SCHEMAS,
    TABLES,
    Catalog,
    IndexInfo,
    SystemTable,
    TableInfo,
)
from bayou.database.contention import Admission, RestartTransaction
from bayou.database.document import Doc, Write
from bayou.database.query import QueryPlan
from bayou.database.query_stream import QueryStream
from bayou.database.read_set import ReadSet
from bayou.database.search.stream import SearchStream
from bayou.errors import BadRequest, ValidationError
from bayou.values import UNDEFINED, ids, limits, sort_key

if TYPE_CHECKING:
    from bayou.database.database import Database
    from bayou.database.in_flight import InFlight

METADATA_TABLES = frozenset({TABLES.name, INDEXES.name, SCHEMAS.name})
METADATA_NUMBERS = frozenset({TABLES.number, INDEXES.number, SCHEMAS.number})


class Transaction:
    """One transaction; get one from `Database.begin()` and finish it with `Database.commit()`."""

    def __init__(
        self,
        db: Database,
        begin_ts: int,
        catalog: Catalog,
        *,
        read_only: bool = False,
        namespace: str = "",
        limits: tx_limits.TransactionLimits = tx_limits.DEFAULT_LIMITS,
    ) -> None:
        self.db = db
        self.begin_ts = begin_ts
        self.catalog = catalog
        self.read_only = read_only
        self.namespace = namespace
        self.limits = limits
        self.reads = ReadSet()
        self.writes: dict[tuple[bytes, bytes], Write] = {}
        # A write holds `db.vars.commitTs`: the committer stamps it with the commit ts.
        self.writes_commit_ts = False
        # Persistence globals to write with this commit (bootstrap, storage fingerprints).
        self.globals: dict[str, Any] | None = None
        self.documents_written = 0
        self.bytes_written = 0
        # What this transaction scheduled (`ctx.scheduler`), against Convex's limits.
        self.functions_scheduled = 0
        self.scheduled_args_bytes = 0
        self.index_ranges = 0
        self._streams: list[QueryStream] = []
        self._table_reads: set[tuple[str, str]] = set()
        self._schema_read = False
        # Set by the retry loop: which hot keys this attempt holds (None: no admission).
        self.admission: Admission | None = None
        self.restart_key: tuple[bytes, bytes] | None = None
        # The sequenced, not yet durable batch this transaction reads through (its snapshot
        # is that batch's timestamp), and what the committer calls once it has sequenced
        # this transaction's own commit (the retry loop hands its hot locks on then).
        self.overlay: InFlight | None = None
        self.on_sequenced: Callable[[], None] | None = None
        # `_creationTime` starts at the snapshot time and then only moves up (§1.1).
        self._creation_time = begin_ts / 1_000_000

    # -- reads ---------------------------------------------------------------------

    async def get(
        self, id: str, *, table: str | None = None, system: bool = False
    ) -> dict[str, Any] | None:
        """The document with this id, or None (also for ids of tables that do not exist)."""
        doc = await self.get_document(id, table=table, system=system)
        return None if doc is None else doc.value

    async def get_document(
        self, id: str, *, table: str | None = None, system: bool = False
    ) -> Doc | None:
        """Like `get`, with the document's JSON text at hand (`Doc.json`)."""
        resolved = self._resolve_id(id, table, system, must_exist=False)
        if resolved is None:
            return None
        return await self.get_doc(*resolved)

    async def get_doc(self, table: TableInfo, internal_id: bytes) -> Doc | None:
        """The document `(table, internal_id)` as this transaction sees it; records the read."""
        write = self.writes.get((table.id, internal_id))
        if self.admission is not None:
            self.admit((table.by_id.id, internal_id))
        self._count_range()
        self.reads.add_point(table.by_id.id, internal_id)
        if write is not None:
            return write.new
        db = self.db
        key = (table.id, internal_id)
        known, doc = False, None
        if self.overlay is not None:
            known, doc = self.overlay.lookup(key)
        if not known:
            known, doc = db.documents.lookup(key, self.begin_ts)
        if not known:
            revision = await db.persistence.get_document(table.id, internal_id, self.begin_ts)
            live = revision is not None and revision.value is not None
            doc = Doc.from_revision(table, revision) if live else None  # type: ignore[arg-type]
            if db.latest_ts == self.begin_ts:  # nothing committed since: it is the newest
                db.documents.fill(key, revision.ts if revision is not None else 0, doc)
        if doc is None:
            return None
        self.count_read(table, doc)
        return doc

    async def settle(self) -> None:
        """Wait until the batch this transaction reads through is durable: for read paths
        that take documents or index entries straight from storage."""
        if self.overlay is not None:
            await self.overlay.settle()

    def table_of_id(self, id: str) -> TableInfo | None:
        """The table an id belongs to, or None (a malformed id, an unknown table)."""
        try:
            number, _ = ids.decode_id(id)
        except BadRequest:
            return None
        return self.catalog.table_by_number(number, self.namespace)

    def query(self, query: Any, *, system: bool = False) -> QueryStream:
        """A stream over a serialized query (or a parsed `QueryPlan`)."""
        plan = query if isinstance(query, QueryPlan) else QueryPlan.from_json(query)
        self._check_table_name(plan.table, system)
        stream = QueryStream(self, plan) if plan.search is None else SearchStream(self, plan)
        self._streams.append(stream)
        return stream

    def normalize_id(self, table: str, id: str, *, system: bool = False) -> str | None:
        """`id` if it is a valid id of `table`, else None (never raises for a bad id)."""
        self._check_table_name(table, system)
        info = self.table_for_read(table)
        if info is None or not isinstance(id, str):
            return None
        try:
            number, _ = ids.decode_id(id)
        except BadRequest:
            return None
        return id if number == info.number else None

    def table_for_read(self, name: str) -> TableInfo | None:
        """The table called `name`, recording that this transaction depends on it (not) existing."""
        key = (self.namespace, name)
        if key not in self._table_reads:
            self._table_reads.add(key)
            tables = self.catalog.table(TABLES.name)
            assert tables is not None
            prefix = sort_key.encode_values([self.namespace, name])
            self.reads.add(tables.indexes["by_name"].id, prefix, sort_key.prefix_successor(prefix))
        return self.catalog.table(name, self.namespace)

    def index_for_read(self, table: TableInfo, name: str) -> IndexInfo:
        index = table.indexes.get(name)
        if index is None or index.kind != "database":
            known = sorted(n for n, i in table.indexes.items() if i.kind == "database")
            raise BadRequest(
                f"Index {table.name}.{name} not found. (Indexes of {table.name!r}: {known}; "
                "declare it in the schema and deploy.)",
                code="IndexNotFoundError",
            )
        if not index.queryable:
            if index.staged:
                raise BadRequest(
                    f"Index {table.name}.{name} is currently staged and not available to "
                    "query until it is enabled.",
                    code="IndexStagedError",
                )
            raise BadRequest(
                f"Index {table.name}.{name} is currently backfilling and not available to "
                "query yet.",
                code="IndexBackfillingError",
            )
        return index

    def admit(self, key: tuple[bytes, bytes]) -> None:
        admission = self.admission
        assert admission is not None
        if key not in admission.held and admission.hot.is_hot(key):
            self.restart_key = key  # remembered even if user code swallows the exception
            raise RestartTransaction(key)

    def count_read(self, table: TableInfo, doc: Doc) -> None:
        if table.is_system:
            return
        reads = self.reads
        reads.documents_read += 1
        reads.bytes_read += doc.size
        if reads.documents_read > self.limits.documents_read:
            raise tx_limits.too_many_documents_read(self.limits.documents_read)
        if reads.bytes_read > self.limits.bytes_read:
            raise tx_limits.too_many_bytes_read(self.limits.bytes_read)

    def _count_range(self) -> None:
        self.index_ranges += 1
        if self.index_ranges > self.limits.index_ranges:
            raise tx_limits.too_many_reads(self.limits.index_ranges)

    def finalize_reads(self) -> ReadSet:
        """The read set including what open query streams consumed so far (the function
        is done: the streams are let go)."""
        for stream in self._streams:
            stream.record_reads()
        self.release_streams()
        return self.reads

    def release_streams(self) -> None:
        """Forget the query streams (the attempt is over). A stream refers to its
        transaction: without this the pair is a reference cycle, freed only by the garbage
        collector, whose pauses then show in the tail latencies."""
        self._streams = []

    # -- writes --------------------------------------------------------------------

    async def insert(
        self,
        table: str,
        value: dict[str, Any],
        *,
        system: bool = False,
        internal_id: bytes | None = None,
    ) -> str:
        """Insert a document (creating the table on first insert) and return its id
        (`internal_id`: a fresh one unless the caller chose it, e.g. a file's)."""
        self._check_writable()
        self._check_table_name(table, system)
        if not isinstance(value, dict):
            raise BadRequest(
                f"insert() needs an object, got {type(value).__name__}", code="InvalidDocument"
            )
        for field in value:
            if isinstance(field, str) and field.startswith("_"):
                raise BadRequest(
                    f"Field {field!r} starts with '_', which is reserved for system fields. "
                    "Rename the field.",
                    code="InvalidDocument",
                )
        info = self.table_for_read(table) or self._create_table(table)
        internal_id = internal_id or ids.new_internal_id(self._creation_time)
        doc_value = {**_without_undefined(value)}
        doc_value["_id"] = info.document_id(internal_id)
        doc_value["_creationTime"] = self._next_creation_time()
        await self._check_document(info, doc_value)
        # The new id must stay unused; this read is bookkeeping, not a user "read".
        self.reads.add_point(info.by_id.id, internal_id)
        self._buffer(Write(info, internal_id, None, Doc(info, internal_id, doc_value)))
        return doc_value["_id"]

    async def insert_document(
        self, table: TableInfo, internal_id: bytes, value: dict[str, Any], json: bytes | None = None
    ) -> None:
        """Buffer a whole document that keeps its own `_id` and `_creationTime` (snapshot
        import; `json`: its encoding, when the caller has it). The caller has checked
        that the id is free in this transaction."""
        self._check_writable()
        await self._check_document(table, value)
        self.reads.add_point(table.by_id.id, internal_id)
        self._buffer(Write(table, internal_id, None, Doc(table, internal_id, value, json=json)))

    async def patch(
        self, id: str, fields: dict[str, Any], *, table: str | None = None, system: bool = False
    ) -> None:
        """Shallow-merge `fields` into a document; a field set to UNDEFINED is removed."""
        self._check_writable()
        if not isinstance(fields, dict):
            raise BadRequest("patch() needs an object of fields", code="InvalidDocument")
        info, internal_id, existing = await self._existing(id, table, system, "patch")
        new_value = dict(existing.value)
        for field, v in fields.items():
            if field in ("_id", "_creationTime"):
                _check_system_field_unchanged(field, v, existing.value)
            elif v is UNDEFINED:
                new_value.pop(field, None)
            else:
                if isinstance(field, str) and field.startswith("_"):
                    raise BadRequest(
                        f"Field {field!r} starts with '_', which is reserved for system fields.",
                        code="InvalidDocument",
                    )
                new_value[field] = v
        await self._check_document(info, new_value)
        self._buffer(Write(info, internal_id, existing, Doc(info, internal_id, new_value)))

    async def replace(
        self, id: str, value: dict[str, Any], *, table: str | None = None, system: bool = False
    ) -> None:
        """Replace a document's fields (system fields stay)."""
        self._check_writable()
        if not isinstance(value, dict):
            raise BadRequest("replace() needs an object", code="InvalidDocument")
        info, internal_id, existing = await self._existing(id, table, system, "replace")
        new_value: dict[str, Any] = {}
        for field, v in value.items():
            if field in ("_id", "_creationTime"):
                _check_system_field_unchanged(field, v, existing.value)
            elif isinstance(field, str) and field.startswith("_"):
                raise BadRequest(
                    f"Field {field!r} starts with '_', which is reserved for system fields.",
                    code="InvalidDocument",
                )
            elif v is not UNDEFINED:
                new_value[field] = v
        new_value["_id"] = existing.value["_id"]
        new_value["_creationTime"] = existing.value["_creationTime"]
        await self._check_document(info, new_value)
        self._buffer(Write(info, internal_id, existing, Doc(info, internal_id, new_value)))

    async def delete(self, id: str, *, table: str | None = None, system: bool = False) -> None:
        """Delete a document."""
        self._check_writable()
        info, internal_id, existing = await self._existing(id, table, system, "delete")
        self._buffer(Write(info, internal_id, existing, None))

    async def _existing(
        self, id: str, table: str | None, system: bool, verb: str
    ) -> tuple[TableInfo, bytes, Doc]:
        resolved = self._resolve_id(id, table, system, must_exist=True)
        assert resolved is not None
        info, internal_id = resolved
        doc = await self.get_doc(info, internal_id)
        if doc is None:
            raise BadRequest(
                f"{verb.capitalize()} on nonexistent document ID {id}", code="NonexistentDocument"
            )
        return info, internal_id, doc

    def _buffer(self, write: Write) -> None:
        if not write.table.is_system:
            # Every write call counts, even to the same document (reference §2.4).
            changed = write.new if write.new is not None else write.old
            size = changed.size if changed is not None else 0
            if self.documents_written + 1 > self.limits.documents_written:
                raise tx_limits.too_many_writes(self.limits.documents_written)
            if self.bytes_written + size > self.limits.bytes_written:
                raise tx_limits.too_many_bytes_written(self.limits.bytes_written)
            self.documents_written += 1
            self.bytes_written += size
        key = (write.table.id, write.internal_id)
        previous = self.writes.get(key)
        if previous is not None:
            write.old = previous.old
        self.writes[key] = write
        if write.table.name in METADATA_TABLES:
            self.catalog = apply_metadata_write(self.catalog, write)

    def _next_creation_time(self) -> float:
        value = self._creation_time
        self._creation_time = math.nextafter(value, math.inf)
        return value

    def savepoint(self) -> tuple:
        """The write state now, to roll back to if a nested mutation fails."""
        return (dict(self.writes), self.catalog, self.documents_written, self.bytes_written)

    def rollback_to(self, savepoint: tuple) -> None:
        """Undo the writes made since `savepoint` (reads stay: they did happen)."""
        writes, self.catalog, self.documents_written, self.bytes_written = savepoint
        self.writes = dict(writes)

    # -- tables, ids, schema ---------------------------------------------------------

    def _check_writable(self) -> None:
        if self.read_only:
            raise BadRequest(
                "This function is read-only (a query): use a mutation to write to the database.",
                code="ReadOnlyTransaction",
            )

    def _check_table_name(self, name: str, system: bool) -> None:
        if not isinstance(name, str):
            raise BadRequest("A table name must be a string", code="InvalidTableName")
        if name.startswith("_"):
            if not system:
                raise BadRequest(
                    f"Table {name!r} is a system table: user functions read system tables "
                    "through ctx.db.system and cannot write them.",
                    code="ReadOnlyTable"
                    if name in self.db.system_table_names
                    else "InvalidTableName",
                )
            return
        limits.check_identifier(name, what="table name")

    def _resolve_id(
        self, id: str, table: str | None, system: bool, *, must_exist: bool
    ) -> tuple[TableInfo, bytes] | None:
        if not isinstance(id, str):
            raise BadRequest(f"Expected an id string, got {type(id).__name__}", code="InvalidId")
        try:
            number, internal_id = ids.decode_id(id)
        except BadRequest as e:
            raise BadRequest(f"Invalid ID {id!r}: {e.message}", code="InvalidId") from None
        if table is not None:
            self._check_table_name(table, system)
            info = self.table_for_read(table)
            if info is None or info.number != number:
                actual = self.catalog.table_by_number(number, self.namespace)
                raise BadRequest(
                    f"ID {id!r} is an id of table {actual.name if actual else '<unknown>'!r}, "
                    f"not {table!r}.",
                    code="InvalidId",
                )
            return info, internal_id
        # Metadata (`_tables`, `_index`, `_schemas`) is the deployment's, whichever
        # component's namespace the transaction is in.
        metadata = system and self.namespace != "" and number in METADATA_NUMBERS
        info = self.catalog.table_by_number(number, "" if metadata else self.namespace)
        if metadata:
            pass  # always there
        elif info is not None:
            self.table_for_read(info.name)
        else:
            self._record_table_number_read(number)
        if info is None:
            if must_exist:
                raise BadRequest(
                    f"Update on nonexistent document ID {id}", code="NonexistentDocument"
                )
            return None
        if info.is_system and not system:
            if must_exist:
                raise BadRequest(
                    f"ID {id!r} belongs to system table {info.name!r}, which user functions cannot write.",
                    code="ReadOnlyTable",
                )
            raise BadRequest(
                f"ID {id!r} belongs to system table {info.name!r}: read it with ctx.db.system.get.",
                code="InvalidId",
            )
        return info, internal_id

    def _record_table_number_read(self, number: int) -> None:
        tables = self.catalog.table(TABLES.name)
        assert tables is not None
        prefix = sort_key.encode_values([self.namespace, float(number)])
        self.reads.add(tables.indexes["by_number"].id, prefix, sort_key.prefix_successor(prefix))

    def _create_table(
        self, name: str, definition: SystemTable | None = None, *, number: int | None = None
    ) -> TableInfo:
        """Buffer the metadata of a new table: its `_tables` row and its system indexes
        (`number`: a free table number the caller chose, e.g. a snapshot import's)."""
        if definition is None and name.startswith("_"):
            definition = self.db.system_tables.get(name)
            if definition is None:
                raise BadRequest(f"Unknown system table {name!r}", code="InvalidTableName")
        tables = self.catalog.table(TABLES.name)
        assert tables is not None
        if definition is not None:
            number = definition.number
        elif number is not None:
            lo = sort_key.encode_values([self.namespace, float(number)])
            self.reads.add(tables.indexes["by_number"].id, lo, sort_key.prefix_successor(lo))
        else:
            number = self.catalog.next_user_table_number(self.namespace)
            # Depend on "no table has this number yet", so concurrent creations conflict.
            lo = sort_key.encode_values([self.namespace, float(number)])
            hi = sort_key.prefix_successor(sort_key.encode(self.namespace))
            self.reads.add(tables.indexes["by_number"].id, lo, hi)
        table_doc_id = ids.new_internal_id()
        self._insert_metadata(
            tables,
            table_doc_id,
            {"name": name, "number": float(number), "namespace": self.namespace},
        )
        info = self.catalog.table_by_id(table_doc_id)
        assert info is not None
        for index_name, fields in _system_indexes(definition):
            self.add_index(
                info, index_name, fields, kind="by_id" if index_name == BY_ID else "database"
            )
        created = self.catalog.table_by_id(table_doc_id)
        assert created is not None
        return created

    def add_index(
        self,
        table: TableInfo,
        name: str,
        fields: tuple[str, ...],
        *,
        kind: str = "database",
        state: str = "enabled",
        staged: bool = False,
        dimensions: int | None = None,
    ) -> bytes:
        """Buffer a new index of `table`; returns its id. Used by table creation and schemas."""
        index_table = self.catalog.table(INDEXES.name)
        assert index_table is not None
        internal_id = ids.new_internal_id()
        self._insert_metadata(
            index_table,
            internal_id,
            {
                "tableId": ids.encode_id(TABLES.number, table.id),
                "name": name,
                "fields": list(fields),
                "kind": kind,
                "state": state,
                "staged": staged,
                **({} if dimensions is None else {"dimensions": float(dimensions)}),
            },
        )
        return internal_id

    def _insert_metadata(
        self, table: TableInfo, internal_id: bytes, fields: dict[str, Any]
    ) -> None:
        value = dict(fields)
        value["_id"] = table.document_id(internal_id)
        value["_creationTime"] = self._next_creation_time()
        self._buffer(Write(table, internal_id, None, Doc(table, internal_id, value)))

    async def _check_document(self, table: TableInfo, value: dict[str, Any]) -> None:
        if table.is_system:
            return
        limits.check_document(value, commit_ts=self.writes_commit_ts)
        await self._check_schema(table, value)

    async def _check_schema(self, table: TableInfo, value: dict[str, Any]) -> None:
        schemas = self.catalog.table(SCHEMAS.name)
        assert schemas is not None
        if not self._schema_read:
            # Writes depend on the schemas in force: a schema change conflicts with them.
            self._schema_read = True
            prefix = sort_key.encode(self.namespace)
            self.reads.add(
                schemas.indexes["by_state"].id, prefix, sort_key.prefix_successor(prefix)
            )
        active = self.catalog.schema(self.namespace, "active")
        if active is not None:
            try:
                active.schema.check_document(table.name, value, self.id_table)
            except ValidationError as e:
                raise ValidationError(
                    f"Failed to {'insert or update'} a document in table {table.name!r} because "
                    f"it does not match the schema: {e.message}",
                    path=e.path,
                    code="SchemaValidationError",
                ) from None
        for state in ("pending", "validated"):
            pending = self.catalog.schema(self.namespace, state)  # type: ignore[arg-type]
            if pending is None:
                continue
            try:
                pending.schema.check_document(table.name, value, self.id_table)
            except ValidationError as e:
                # The write stands; the schema being deployed cannot (reference §5.4).
                await self.fail_schema(pending.id, _schema_failure(table.name, value, e))

    async def fail_schema(self, schema_id: bytes, error: str) -> None:
        """Mark a pending schema failed within this transaction."""
        schemas = self.catalog.table(SCHEMAS.name)
        assert schemas is not None
        current = await self.get_doc(schemas, schema_id)
        if current is None or current.value.get("state") == "failed":
            return
        value = {**current.value, "state": "failed", "error": error}
        self._buffer(Write(schemas, schema_id, current, Doc(schemas, schema_id, value)))

    def id_table(self, id: str) -> str | None:
        """The name of the table an id string belongs to (for `v.id` validators)."""
        info = self.catalog.table_for_id(id, self.namespace)
        return info.name if info is not None else None


def apply_metadata_write(catalog: Catalog, write: Write) -> Catalog:
    """The catalog after one write to `_tables`, `_index` or `_schemas`."""
    value = write.new.value if write.new is not None else None
    name = write.table.name
    if name == TABLES.name:
        return catalog.with_table_doc(write.internal_id, value)
    if name == INDEXES.name:
        return catalog.with_index_doc(write.internal_id, value)
    return catalog.with_schema_doc(write.internal_id, value)


def _system_indexes(definition: SystemTable | None) -> list[tuple[str, tuple[str, ...]]]:
    out: list[tuple[str, tuple[str, ...]]] = [(BY_ID, ()), (BY_CREATION_TIME, ())]
    if definition is not None:
        out.extend(definition.indexes.items())
    return out


def _without_undefined(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not UNDEFINED}


def _check_system_field_unchanged(field: str, value: Any, existing: dict[str, Any]) -> None:
    if value != existing[field]:
        code = "InvalidIdError" if field == "_id" else "InvalidCreationTimeError"
        raise BadRequest(
            f"System field {field!r} cannot be changed: it is {existing[field]!r}, got {value!r}.",
            code=code,
        )


def _schema_failure(table: str, value: dict[str, Any], e: ValidationError) -> str:
    return (
        f"Document with ID {value.get('_id')!r} in table {table!r} does not match the schema: "
        f"{e.message}"
    )
