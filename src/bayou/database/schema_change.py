"""Changing the schema: pending schema, index backfill, validation of existing documents.

The deploy pipeline drives three steps:

1. `start_schema_change` commits the new schema as *pending*, creates the tables it names
   and every new index in state `backfilling`, then runs backfill and validation in the
   background. From that commit on, every write is also checked against the pending schema;
   a write that violates it stands, and the pending schema fails (reference §5.4) — so the
   validation scan, at a snapshot after that commit, plus the write-time checks cover every
   document.
2. `SchemaChange.wait` reports progress until the change is validated or failed.
3. `finish_schema_change(tx, change)` — inside the caller's transaction, so that modules,
   schema and indexes switch in one commit — activates the schema, enables the new indexes
   and drops the removed ones. It reads the pending schema document, so a write that fails
   the schema concurrently makes the finishing transaction conflict and re-check.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bayou.database.catalog import BY_CREATION_TIME, INDEXES, SCHEMAS
from bayou.database.database import Database
from bayou.database.indexing import backfill_index
from bayou.database.retry import run_transaction
from bayou.database.schema import DatabaseSchema
from bayou.database.search.changes import (
    index_change,
    same_definition,
    search_index_json,
    sync_staged_flags,
)
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest, ValidationError
from bayou.values import ids
from bayou.values import json as vjson

PENDING_SUFFIX = ".pending"  # '.' cannot appear in index names, so this never clashes
PAGE = 1000


@dataclass
class IndexChange:
    table: str
    name: str
    fields: tuple[str, ...]
    staged: bool = False
    kind: str = "database"
    dimensions: int | None = None

    def to_json(self) -> dict[str, Any]:
        if self.kind in ("search", "vector"):
            return search_index_json(self)
        return {
            "name": f"{self.table}.{self.name}",
            "type": "database",
            "fields": list(self.fields),
        }


@dataclass
class SchemaChange:
    """A schema on its way to becoming active, and the progress of its background work."""

    schema: DatabaseSchema
    namespace: str
    schema_id: bytes
    added: list[IndexChange]
    removed: list[IndexChange]
    new_index_ids: list[bytes]
    new_tables: list[str] = field(default_factory=list)  # created when the change finishes
    indexes_total: int = 0
    indexes_done: int = 0
    validation_complete: bool = False
    error: str | None = None
    table_name: str | None = None  # the table of the offending document, on failure
    done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def index_diff(self) -> dict[str, Any]:
        return {
            "added_indexes": [c.to_json() for c in self.added],
            "removed_indexes": [c.to_json() for c in self.removed],
        }

    async def wait(self, timeout: float | None = None) -> bool:
        """True once finished (validated or failed); False if still running at the timeout."""
        try:
            await asyncio.wait_for(self.done.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


async def start_schema_change(db: Database, schema_json: Any, namespace: str = "") -> SchemaChange:
    """Commit the schema as pending and start backfill and validation in the background."""
    schema = DatabaseSchema.from_json(schema_json)

    async def write(tx: Transaction) -> SchemaChange:
        return await _write_pending(tx, schema, namespace)

    change, _ = await run_transaction(db, write)
    change.indexes_total = len(change.new_index_ids)
    change.task = asyncio.get_running_loop().create_task(_background(db, change))
    return change


async def _write_pending(tx: Transaction, schema: DatabaseSchema, namespace: str) -> SchemaChange:
    schemas_table = tx.catalog.table(SCHEMAS.name)
    assert schemas_table is not None
    tx.table_for_read(SCHEMAS.name)
    # A newer deploy supersedes a pending one.
    for state in ("pending", "validated"):
        old = tx.catalog.schema(namespace, state)  # type: ignore[arg-type]
        if old is not None:
            await tx.patch(
                ids.encode_id(SCHEMAS.number, old.id), {"state": "overwritten"}, system=True
            )
    schema_id = ids.decode_id(
        await tx.insert(
            SCHEMAS.name,
            {"schema": schema.to_text(), "state": "pending", "namespace": namespace},
            system=True,
        )
    )[1]
    added: list[IndexChange] = []
    removed: list[IndexChange] = []
    new_ids: list[bytes] = []
    new_tables: list[str] = []
    for table_schema in schema.tables.values():
        table = tx.table_for_read(table_schema.name)
        if table is None:
            # Created by finish_schema_change: a push that never finishes leaves no table.
            new_tables.append(table_schema.name)
            added.extend(
                IndexChange(
                    table_schema.name,
                    spec.name,
                    spec.fields,
                    spec.staged,
                    spec.kind,
                    spec.dimensions,
                )
                for spec in table_schema.indexes.values()
            )
            continue
        for spec in table_schema.indexes.values():
            existing = table.indexes.get(spec.name)
            if existing is not None and existing.state != "enabled":
                existing = None  # a leftover, handled below
            if existing is not None and same_definition(existing, spec):
                continue
            name = spec.name if existing is None else spec.name + PENDING_SUFFIX
            leftover = table.indexes.get(name)
            if leftover is not None and same_definition(leftover, spec):
                # Created by a push that never finished (`npx convex codegen`, a crash, a
                # stop): trust nothing of it but its definition — backfill it again (the
                # entries are idempotent) and enable it when this push finishes.
                index_id = leftover.id
                if leftover.staged != spec.staged:
                    await tx.patch(
                        ids.encode_id(INDEXES.number, index_id),
                        {"staged": spec.staged},
                        system=True,
                    )
            else:
                index_id = tx.add_index(
                    table,
                    name,
                    spec.fields,
                    state="backfilling",
                    staged=spec.staged,
                    kind=spec.kind,
                    dimensions=spec.dimensions,
                )
            new_ids.append(index_id)
            added.append(
                IndexChange(
                    table.name, spec.name, spec.fields, spec.staged, spec.kind, spec.dimensions
                )
            )
            if existing is not None:
                removed.append(index_change(table.name, existing))
    for table in tx.catalog.tables():
        if table.is_system or table.namespace != namespace:
            continue
        declared = schema.tables.get(table.name)
        for index in list(table.indexes.values()):
            if index.kind == "by_id" or index.name == BY_CREATION_TIME:
                continue
            if index.state != "enabled" and index.id not in new_ids:
                # Another unfinished push's index that this one does not reuse.
                await tx.delete(ids.encode_id(INDEXES.number, index.id), system=True)
            elif index.state == "enabled" and (
                declared is None or index.name not in declared.indexes
            ):
                removed.append(index_change(table.name, index))
    return SchemaChange(schema, namespace, schema_id, added, removed, new_ids, new_tables)


async def _background(db: Database, change: SchemaChange) -> None:
    try:
        for index_id in change.new_index_ids:
            await backfill_index(db, index_id)
            change.indexes_done += 1
        failure = await _validate_existing(db, change)
        if failure is not None:
            change.table_name, change.error = failure

            async def fail(tx: Transaction) -> None:
                await tx.fail_schema(change.schema_id, change.error or "")
                await _drop_new_indexes(tx, change)

            await run_transaction(db, fail, retries=100)
            return
        change.validation_complete = True

        async def mark_validated(tx: Transaction) -> None:
            schemas = tx.catalog.table(SCHEMAS.name)
            assert schemas is not None
            doc = await tx.get_doc(schemas, change.schema_id)
            if doc is None:
                return
            if doc.value["state"] == "failed":
                change.error = doc.value.get("error")
                await _drop_new_indexes(tx, change)
                return
            if doc.value["state"] == "pending":
                await tx.patch(doc.id, {"state": "validated"}, system=True)

        await run_transaction(db, mark_validated, retries=100)
    except Exception as e:  # reported through wait_for_schema, never lost
        change.error = change.error or f"Schema update failed: {e}"
    finally:
        change.done.set()


async def _drop_new_indexes(tx: Transaction, change: SchemaChange) -> None:
    """A failed change leaves no index behind: the next push starts from the active ones
    (and reports its indexes as added)."""
    index_table = tx.catalog.table(INDEXES.name)
    assert index_table is not None
    for index_id in change.new_index_ids:
        if await tx.get_doc(index_table, index_id) is not None:
            await tx.delete(ids.encode_id(INDEXES.number, index_id), system=True)


async def _validate_existing(db: Database, change: SchemaChange) -> tuple[str, str] | None:
    """(table, message) for the first document that violates the schema, else None."""
    if not change.schema.schema_validation:
        return None
    tx = db.begin(read_only=True, namespace=change.namespace)
    snapshot = tx.begin_ts
    for table_schema in change.schema.tables.values():
        if table_schema.document_type is None:
            continue
        table = tx.catalog.table(table_schema.name, change.namespace)
        if table is None:
            continue
        after: bytes | None = None
        while True:
            page = await db.persistence.scan_table(table.id, snapshot, after, PAGE)
            for revision in page:
                assert revision.value is not None
                doc = vjson.loads(revision.value)
                try:
                    table_schema.document_type.check_document(doc, id_table=tx.id_table)
                except ValidationError as e:
                    return table.name, (
                        f'Schema validation failed.\nDocument with ID "{doc["_id"]}" in table '
                        f'"{table.name}" does not match the schema: {e.message}'
                    )
            if len(page) < PAGE:
                break
            after = page[-1].id
    return None


async def finish_schema_change(tx: Transaction, change: SchemaChange) -> list[bytes]:
    """Activate the validated schema and switch indexes, within `tx`.

    Returns the ids of indexes that still need a backfill after the commit (rare: a table
    the schema introduced was created by a write while the change was pending); call
    `complete_backfills` with them once `tx` has committed.
    """
    schemas = tx.catalog.table(SCHEMAS.name)
    index_table = tx.catalog.table(INDEXES.name)
    assert schemas is not None and index_table is not None
    doc = await tx.get_doc(schemas, change.schema_id)
    if doc is None or doc.value["state"] == "overwritten":
        raise BadRequest(
            "Another deploy replaced this schema before it finished. Deploy again.",
            code="RaceDetected",
        )
    state = doc.value["state"]
    if state == "failed":
        raise BadRequest(
            doc.value.get("error") or "Schema validation failed", code="SchemaValidationFailed"
        )
    if state not in ("validated", "active"):
        raise BadRequest("The schema is still being validated; wait for it", code="SchemaNotReady")
    old = tx.catalog.schema(change.namespace, "active")
    if old is not None and old.id != change.schema_id:
        await tx.patch(ids.encode_id(SCHEMAS.number, old.id), {"state": "overwritten"}, system=True)
    await tx.patch(doc.id, {"state": "active"}, system=True)
    for removed in change.removed:
        table = tx.table_for_read(removed.table)
        index = table.indexes.get(removed.name) if table else None
        if index is not None:
            await tx.delete(ids.encode_id(INDEXES.number, index.id), system=True)
    for index_id in change.new_index_ids:
        index_doc = await tx.get_doc(index_table, index_id)
        if index_doc is None:
            continue
        fields: dict[str, Any] = {"state": "enabled"}
        name = index_doc.value["name"]
        if name.endswith(PENDING_SUFFIX):
            fields["name"] = name[: -len(PENDING_SUFFIX)]
        await tx.patch(index_doc.id, fields, system=True)
    await sync_staged_flags(tx, change.schema, change.namespace)
    return await _create_new_tables(tx, change)


async def _create_new_tables(tx: Transaction, change: SchemaChange) -> list[bytes]:
    backfill: list[bytes] = []
    for name in change.new_tables:
        specs = change.schema.tables[name].indexes.values()
        table = tx.table_for_read(name)
        if table is None:
            table = tx._create_table(name)
            for spec in specs:  # an empty table: nothing to backfill
                tx.add_index(
                    table,
                    spec.name,
                    spec.fields,
                    staged=spec.staged,
                    kind=spec.kind,
                    dimensions=spec.dimensions,
                )
            continue
        for spec in specs:
            if spec.name not in table.indexes:
                backfill.append(
                    tx.add_index(
                        table,
                        spec.name,
                        spec.fields,
                        state="backfilling",
                        staged=spec.staged,
                        kind=spec.kind,
                        dimensions=spec.dimensions,
                    )
                )
    return backfill


async def complete_backfills(db: Database, index_ids: list[bytes]) -> None:
    """Backfill and enable indexes that `finish_schema_change` had to leave behind."""
    for index_id in index_ids:
        await backfill_index(db, index_id)
        await db.enable_index(index_id)


async def resume_backfills(db: Database) -> list[bytes]:
    """At start: backfill and enable the indexes that the active schema declares but that a
    stop cut short after their schema's finishing commit (`complete_backfills` never ran).
    Indexes of pushes that never finished are left for the next push, which checks them."""
    due: list[bytes] = []
    for table in db.catalog.tables():
        if table.is_system:
            continue
        active = db.catalog.schema(table.namespace, "active")
        declared = active.schema.tables.get(table.name) if active is not None else None
        if declared is None:
            continue
        for index in table.indexes.values():
            spec = declared.indexes.get(index.name)
            if index.state != "enabled" and spec is not None and same_definition(index, spec):
                due.append(index.id)
    await complete_backfills(db, due)
    return due


async def apply_schema(db: Database, schema_json: Any, namespace: str = "") -> SchemaChange:
    """Start, wait for and finish a schema change in one call (tests, imports, tools)."""
    change = await start_schema_change(db, schema_json, namespace)
    await change.wait()
    if change.error is not None:
        raise BadRequest(change.error, code="SchemaValidationFailed")

    async def finish(tx: Transaction) -> list[bytes]:
        return await finish_schema_change(tx, change)

    backfill, _ = await run_transaction(db, finish)
    await complete_backfills(db, backfill)
    return change
