"""Applying an import to the database: every mode of `npx convex import`, for the app's
tables and each component's (a component's tables live in the namespace named by its
path, as everywhere in Bayou).

    requireEmpty  fails when a target table already holds documents
    append        adds to the existing tables
    replace       each imported table takes the place of the existing one
    replaceAll    like replace, and every user table not in the import goes (in the app
                  and in every component)

An import is two steps, and the file is read once:

    stage()    every row is parsed, checked (ids, sizes, the active schema of its
               component) and written, a batch a commit, into hidden tables (namespace
               `_snapshot_import/<id>#<component>`); their counts make the summary the CLI
               asks to confirm. A bad row fails the import here: the hidden tables are
               deleted and the deployment is as it was.
    finish()   `replace` modes: **one commit swaps** the hidden tables in, so readers see
               the deployment before or after the import, never half of it (the replaced
               tables go to another hidden namespace and are emptied in the background);
               `append`: the checked rows are copied into the tables a batch a commit (as
               Convex's append: no swap).

Documents keep their `_id` and `_creationTime`: a table gets its number in the source (the
ZIP's `_tables`, or the number in its documents' ids) when no remaining table of its
component has it, so ids that reference other tables stay valid. Files of a ZIP's
`_storage` are handled by `import_files`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from bayou.database.catalog import FIRST_USER_TABLE_NUMBER, INDEXES, TABLES, Catalog, TableInfo
from bayou.database.database import Database
from bayou.database.limits import TransactionLimits
from bayou.database.namespaced import in_namespace
from bayou.database.transaction import Transaction
from bayou.errors import BayouError, OccError, ValidationError
from bayou.model import file_storage
from bayou.snapshots.export import scan
from bayou.snapshots.import_files import FileTarget, fresh_creation_time, stage_files
from bayou.snapshots.parse import ImportError_, Source, Table, label
from bayou.values import ids
from bayou.values import json as vjson

log = logging.getLogger("bayou.snapshots")
BATCH = 2000
RETRIES = 3
# Imported tables are filled in hidden namespaces, swapped in, and the replaced ones
# moved to other hidden namespaces to be emptied.
STAGING_PREFIX = "_snapshot_import/"
REPLACED_SUFFIX = "/replaced"
UNLIMITED = TransactionLimits(
    documents_read=1 << 62,
    bytes_read=1 << 62,
    index_ranges=1 << 62,
    documents_written=1 << 62,
    bytes_written=1 << 62,
)
Progress = Callable[[str], Any]
Key = tuple[str, str]  # (component path, table name)


def staged_namespace(root: str, component: str) -> str:
    """Where the import `root` fills the tables of `component`."""
    return f"{root}#{component}"


def replaced_namespace(root: str, component: str) -> str:
    """Where the tables of `component` that the import `root` replaced wait to be emptied."""
    return f"{root}{REPLACED_SUFFIX}#{component}"


def is_hidden(namespace: str) -> bool:
    return namespace.startswith(STAGING_PREFIX)


@dataclass
class Plan:
    """What an import will change, for the confirmation the CLI shows."""

    lines: list[str] = field(default_factory=list)
    deletes: bool = False

    @property
    def message(self) -> str:
        parts = ["Import change summary:", *self.lines] if self.lines else []
        parts.append(
            "Once the import has started, it will run in the background.\n"
            "Interrupting `npx convex import` will not cancel it."
        )
        return "\n".join(parts)


@dataclass
class Staged:
    """An import whose rows are checked and written into hidden tables, waiting for
    `finish()` (or `discard()`)."""

    source: Source
    mode: str
    root: str  # the prefix of its hidden namespaces
    numbers: dict[Key, int]
    counts: dict[Key, int]
    plan: Plan

    @property
    def written(self) -> int:
        return sum(self.counts.values())


async def _count(tx: Transaction, table: TableInfo, limit: int | None = None) -> int:
    query: dict[str, Any] = {
        "source": {"type": "FullTableScan", "tableName": table.name, "order": "asc"},
        "operators": [{"limit": limit}] if limit else [],
    }
    n = 0
    stream = in_namespace(tx, table.namespace).query(query, system=table.is_system)
    while await stream.next_with_key() is not None:
        n += 1
    return n


def _components(source: Source) -> list[str]:
    return sorted({t.component for t in source.tables} | set(source.files))


# -- stage -------------------------------------------------------------------------------


async def stage(
    db: Database, source: Source, mode: str, progress: Progress | None = None
) -> Staged:
    """Read, check and write every row of `source` into hidden tables; raises the first
    bad row's error (leaving nothing behind)."""
    report = progress or (lambda message: None)
    root = f"{STAGING_PREFIX}{secrets.token_hex(8)}"
    try:
        numbers = _numbers(db.catalog, source, mode)
        await _create_staged(db, root, source, numbers)
        counts: dict[Key, int] = {}
        for table in source.tables:
            report(f"Checking {table.label}")
            counts[table.key] = await _fill(db, root, table, numbers, mode)
        # After the rows, as Convex's: an error in the file is reported first.
        await _refuse_nonempty(db, source, mode)
        plan = await _plan(db, source, counts, mode)
    except BaseException:
        await _shielded(drop_import(db, root))
        raise
    return Staged(source, mode, root, numbers, counts, plan)


async def _refuse_nonempty(db: Database, source: Source, mode: str) -> None:
    """`requireEmpty`: a target table that holds documents fails the import."""
    if mode != "requireEmpty":
        return
    tx = db.begin(read_only=True, limits=UNLIMITED)
    targets = [t.key for t in source.tables]
    targets += [(component, file_storage.STORAGE.name) for component in source.files]
    for component, name in targets:
        existing = tx.catalog.table(name, component)
        if existing is not None and await _count(tx, existing, 1):
            raise ImportError_(
                f"Table {label(component, name)} already exists. Please choose a new table "
                "name or use replace/append modes."
            )


async def _plan(db: Database, source: Source, counts: dict[Key, int], mode: str) -> Plan:
    """The summary of changes, and whether it deletes anything."""
    tx = db.begin(read_only=True, limits=UNLIMITED)
    rows: list[tuple[str, int, int, str]] = []
    entries = [(t.component, t.name, counts[t.key], "") for t in source.tables]
    entries += [
        (component, file_storage.STORAGE.name, len(files), " files")
        for component, files in source.files.items()
    ]
    for component, name, count, unit in entries:
        existing = tx.catalog.table(name, component)
        have = await _count(tx, existing) if existing is not None else 0
        deleted = have if mode in ("replace", "replaceAll") else 0
        rows.append((label(component, name), count, deleted, unit))
    if mode == "replaceAll":
        imported = {t.key for t in source.tables}
        for table in tx.catalog.tables():
            if table.is_system or is_hidden(table.namespace):
                continue
            if (table.namespace, table.name) in imported:
                continue
            have = await _count(tx, table)
            if have:
                rows.append((label(table.namespace, table.name), 0, have, ""))
    out = Plan()
    if rows:
        out.lines += ["table | create | delete", "-" * 30]
    for name, added, deleted, unit in sorted(rows):
        out.lines.append(f"{name} | {added}{unit} | {deleted} of {deleted}{unit}")
        out.deletes = out.deletes or deleted > 0
    return out


def _numbers(catalog: Catalog, source: Source, mode: str) -> dict[Key, int]:
    """The table number of each imported table: the source's (so ids stay valid) when
    no table that stays in its component has it, else the replaced table's, else a new
    one. In `append`, an existing table keeps its number."""
    out: dict[Key, int] = {}
    for component in sorted({t.component for t in source.tables}):
        tables = [t for t in source.tables if t.component == component]
        imported = {t.name for t in tables}
        present = [t for t in catalog.tables() if t.namespace == component]
        if mode == "append":
            taken = {t.number for t in present}
            for table in tables:
                existing = catalog.table(table.name, component)
                if existing is not None:
                    out[table.key] = existing.number
        else:
            taken = {
                t.number
                for t in present
                if t.is_system or (t.name not in imported and mode != "replaceAll")
            }
        for table in tables:
            if table.key in out:
                continue
            number = table.number if table.number is not None else _first_id_number(table)
            if number is not None and number >= FIRST_USER_TABLE_NUMBER and number not in taken:
                out[table.key] = number
                taken.add(number)
        for table in tables:
            if table.key in out:
                continue
            existing = catalog.table(table.name, component)
            if existing is not None and existing.number not in taken:
                number = existing.number
            else:
                highest = [FIRST_USER_TABLE_NUMBER - 1, *(t.number for t in present), *taken]
                number = max(highest) + 1
            out[table.key] = number
            taken.add(number)
    return out


async def _create_staged(db: Database, root: str, source: Source, numbers: dict[Key, int]) -> None:
    """The hidden tables, with the indexes of the tables they replace."""
    tx = db.begin()
    for table in source.tables:
        view = in_namespace(tx, staged_namespace(root, table.component))
        info = view._create_table(table.name, number=numbers[table.key])
        existing = db.catalog.table(table.name, table.component)
        for ix in existing.indexes.values() if existing is not None else ():
            # Search and vector indexes too: the swapped-in table keeps every index.
            if ix.kind != "by_id" and ix.name not in info.indexes:
                view.add_index(
                    info,
                    ix.name,
                    ix.fields,
                    kind=ix.kind,
                    staged=ix.staged,
                    dimensions=ix.dimensions,
                )
    await db.commit(tx)


def _first_id_number(table: Table) -> int | None:
    """The table number in the first row's `_id` (a peek at one row)."""
    for _, value in islice(table.rows(), 1):
        doc_id = value.get("_id")
        if isinstance(doc_id, str):
            return ids.table_number_of(doc_id)
    return None


def _take(rows: Iterator[Any]) -> list[Any]:
    return list(islice(rows, BATCH))


async def _batches(table: Table) -> AsyncIterator[list[tuple[int, dict[str, Any]]]]:
    """The rows a batch at a time, the next one parsed (in a thread) while the caller
    writes this one."""
    rows = table.rows()
    next_batch = asyncio.ensure_future(asyncio.to_thread(_take, rows))
    try:
        while batch := await next_batch:
            next_batch = asyncio.ensure_future(asyncio.to_thread(_take, rows))
            yield batch
    finally:
        # Let a read in progress finish: its thread holds the generator.
        await asyncio.wait([next_batch])
        if not next_batch.cancelled():
            next_batch.exception()  # retrieved: an error after the caller stopped is moot


async def _fill(db: Database, root: str, table: Table, numbers: dict[Key, int], mode: str) -> int:
    """Write a table's rows into its hidden table, a batch a commit, checked against its
    component's schema as they will be once in place."""
    namespace = staged_namespace(root, table.component)
    schema = db.catalog.schema(table.component, "active")
    live = db.catalog.table(table.name, table.component) if mode == "append" else None
    by_number = {n: name for (c, name), n in numbers.items() if c == table.component}
    # Ids of system tables a component has not created yet (a workpool's
    # `v.id("_scheduled_functions")` fields: scheduled functions are not exported).
    by_number.update({d.number: d.name for d in db.system_tables.values()})

    def table_of(number: int | None) -> str | None:
        if number in by_number:
            return by_number[number]
        info = db.catalog.table_by_number(number, table.component) if number is not None else None
        return info.name if info is not None else None

    def id_table(doc_id: str) -> str | None:
        return table_of(ids.table_number_of(doc_id))

    written = 0
    async for batch in _batches(table):
        tx = db.begin(namespace=namespace, limits=UNLIMITED)
        info = tx.catalog.table(table.name, namespace)
        assert info is not None
        docs = [_document(table, info, lineno, value, table_of) for lineno, value in batch]
        await _check_new(tx, info, table.label, docs, live)
        for lineno, internal_id, doc in docs:
            await _insert(tx, table.label, info, lineno, internal_id, doc)  # sizes first
            if schema is not None:
                try:
                    schema.schema.check_document(table.name, doc, id_table)
                except ValidationError as e:
                    raise ImportError_(
                        f"Row {lineno} of table {table.label!r}: Failed to insert or update a "
                        f"document in table {table.name!r} because it does not match the "
                        f"schema: {e.message}"
                    ) from None
        await db.commit(tx)
        written += len(docs)
    return written


def _document(
    table: Table,
    info: TableInfo,
    lineno: int,
    value: dict[str, Any],
    table_of: Callable[[int | None], str | None],
) -> tuple[int, bytes, dict[str, Any]]:
    """A row as the document to store: its id checked (or a new one), its creation time."""
    where = f"Row {lineno} of table {table.label!r}"
    doc = dict(value)
    doc_id = doc.get("_id")
    if doc_id is None:
        internal_id = ids.new_internal_id()
        doc["_id"] = info.document_id(internal_id)
    else:
        if not isinstance(doc_id, str):
            raise ImportError_(f"{where}: `_id` must be an id string")
        try:
            number, internal_id = ids.decode_id(doc_id)
        except BayouError:
            raise ImportError_(f"{where}: `_id` {doc_id!r} is not a valid document id") from None
        if number != info.number:
            other = table_of(number)
            owner = f"table {other!r}" if other is not None else f"table number {number}"
            raise ImportError_(
                f"{where}: `_id` {doc_id!r} is an id of {owner}, not of {table.name!r} "
                f"(number {info.number}). Import ids into the table they belong to, or drop "
                "the `_id` column to get new ids."
            )
    if "_creationTime" not in doc:
        doc["_creationTime"] = fresh_creation_time()
    return lineno, internal_id, doc


async def _check_new(
    tx: Transaction,
    info: TableInfo,
    where: str,
    docs: list[tuple[int, bytes, dict[str, Any]]],
    live: TableInfo | None = None,
) -> None:
    """No two rows, and no row and stored document (of `info`, and of `live`: the table
    an append adds to), share an id."""
    seen: dict[bytes, int] = {}
    for lineno, internal_id, doc in docs:
        if internal_id in seen:
            raise ImportError_(
                f"Row {lineno} of table {where!r}: `_id` {doc['_id']!r} appears twice in the import"
            )
        seen[internal_id] = lineno
    keys = [(info.id, i) for i in seen]
    if live is not None:
        keys += [(live.id, i) for i in seen]
    await tx.settle()
    found = await tx.db.persistence.get_documents(keys, tx.begin_ts)
    for (_, internal_id), revision in found.items():
        if revision.value is not None:
            lineno = seen[internal_id]
            raise ImportError_(
                f"Row {lineno} of table {where!r}: a document with `_id` "
                f"{info.document_id(internal_id)!r} already exists (in this import or the "
                "table): use --replace to overwrite the table."
            )


async def _insert(
    tx: Transaction,
    where: str,
    info: TableInfo,
    lineno: int,
    internal_id: bytes,
    doc: dict[str, Any],
) -> None:
    try:
        # A copy: orjson's result keeps a 4 KiB buffer however short the text, and the
        # document cache keeps this one.
        json = bytes(memoryview(vjson.dumps(doc)))
        await tx.insert_document(info, internal_id, doc, json)
    except BayouError as e:
        raise ImportError_(f"Row {lineno} of table {where!r}: {e.message}") from None


# -- finish ------------------------------------------------------------------------------


async def finish(
    db: Database,
    staged: Staged,
    *,
    files: list[FileTarget] | None = None,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Put a staged import in place; (rows written, commit ts of the import). The hidden
    tables are deleted whatever happens."""
    report = progress or (lambda message: None)
    try:
        if staged.mode == "append":
            ts = await _append(db, staged, files or [], report)
        else:
            report("Swapping the imported tables in")
            ts = await _swap(db, staged, files or [])
    finally:
        await _shielded(drop_import(db, staged.root))
    return staged.written, ts


async def discard(db: Database, staged: Staged) -> None:
    """Give up a staged import (canceled): its hidden tables go."""
    await _shielded(drop_import(db, staged.root))


async def apply(
    db: Database,
    source: Source,
    mode: str,
    *,
    files: list[FileTarget] | None = None,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """`stage` then `finish`, without a confirmation in between."""
    staged = await stage(db, source, mode, progress)
    return await finish(db, staged, files=files, progress=progress)


async def _shielded(work: Any) -> None:
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise
    except Exception:
        log.exception("cleaning up after an import failed")


def _changed(what: str) -> ImportError_:
    return ImportError_(
        f"The deployment changed while the import waited for confirmation ({what}): nothing "
        "was imported. Run the import again."
    )


async def _append(db: Database, staged: Staged, files: list[FileTarget], report: Progress) -> int:
    """Copy the checked rows into their tables, a batch a commit."""
    ts = db.latest_ts
    for table in staged.source.tables:
        report(f"Importing {table.label}")
        number = staged.numbers[table.key]
        tx = db.begin(namespace=table.component)
        info = tx.table_for_read(table.name)
        if info is None:
            tx._create_table(table.name, number=number)
            ts = await db.commit(tx)
        elif info.number != number:
            raise _changed(f"table {table.label} was created again")
        hidden = db.catalog.table(table.name, staged_namespace(staged.root, table.component))
        assert hidden is not None
        async for page in scan(db, hidden.id, db.latest_ts, BATCH):
            tx = db.begin(namespace=table.component, limits=UNLIMITED)
            info = tx.table_for_read(table.name)
            assert info is not None
            docs = [(0, r.id, vjson.loads(r.value)) for r in page if r.value is not None]
            await _check_new(tx, info, table.label, docs)
            for (_, internal_id, doc), revision in zip(docs, page, strict=True):
                await tx.insert_document(info, internal_id, doc, revision.value)
            ts = await db.commit(tx)
    if files:
        tx = db.begin(limits=UNLIMITED)
        for component in sorted({f.file.component for f in files}):
            mine = [f for f in files if f.file.component == component]
            await stage_files(tx, component, mine, replacing=False)
        ts = await db.commit(tx)
    return ts


async def _swap(db: Database, staged: Staged, files: list[FileTarget]) -> int:
    """One commit: each imported table takes the place of the one it replaces (which goes
    to a hidden namespace, to be emptied), files get their rows."""
    source, mode, root = staged.source, staged.mode, staged.root
    imported = {t.key for t in source.tables}
    for attempt in range(RETRIES + 1):
        tx = db.begin(limits=UNLIMITED)
        tables = tx.catalog.table(TABLES.name)
        assert tables is not None
        before = list(tx.catalog.tables())
        moved: set[bytes] = set()
        for table in source.tables:
            existing = in_namespace(tx, table.component).table_for_read(table.name)
            if existing is not None:
                if mode == "requireEmpty" and await _count(tx, existing, 1):
                    raise ImportError_(
                        f"Table {table.label} already exists. Please choose a new table name "
                        "or use replace/append modes."
                    )
                await tx.patch(
                    tables.document_id(existing.id),
                    {"namespace": replaced_namespace(root, table.component)},
                    system=True,
                )
                moved.add(existing.id)
        if mode == "replaceAll":
            for info in before:
                key = (info.namespace, info.name)
                if info.is_system or is_hidden(info.namespace) or key in imported:
                    continue
                await tx.patch(
                    tables.document_id(info.id),
                    {"namespace": replaced_namespace(root, info.namespace)},
                    system=True,
                )
                moved.add(info.id)
        for table in source.tables:
            number = staged.numbers[table.key]
            clash = next(
                (
                    t
                    for t in before
                    if t.namespace == table.component and t.number == number and t.id not in moved
                ),
                None,
            )
            if clash is not None:
                raise _changed(f"table number {number} is now {label(clash.namespace, clash.name)}")
            hidden = tx.catalog.table(table.name, staged_namespace(root, table.component))
            assert hidden is not None
            await tx.patch(
                tables.document_id(hidden.id), {"namespace": table.component}, system=True
            )
        for component in source.files:
            mine = [f for f in files if f.file.component == component]
            if mine or mode != "requireEmpty":
                await stage_files(tx, component, mine, replacing=mode != "requireEmpty")
        try:
            return await db.commit(tx)
        except OccError:
            if attempt == RETRIES:
                raise
    raise AssertionError("unreachable")


# -- hidden tables -----------------------------------------------------------------------


async def drop_import(db: Database, root: str) -> None:
    """Delete every hidden table of the import `root` (staged or replaced)."""
    prefixes = (staged_namespace(root, ""), replaced_namespace(root, ""))
    namespaces = {t.namespace for t in db.catalog.tables() if t.namespace.startswith(prefixes)}
    for namespace in sorted(namespaces):
        await drop_namespace(db, namespace)


async def drop_namespace(db: Database, namespace: str) -> None:
    """Delete the tables of a hidden namespace (an import's leftovers), a batch a commit."""
    for table in [t for t in db.catalog.tables() if t.namespace == namespace]:
        query = {
            "source": {"type": "FullTableScan", "tableName": table.name, "order": "asc"},
            "operators": [{"limit": BATCH}],
        }
        while True:
            tx = db.begin(namespace=namespace, limits=UNLIMITED)
            docs = await tx.query(query).collect()
            if not docs:
                break
            for doc in docs:
                await tx.delete(doc["_id"])
            await db.commit(tx)
        tx = db.begin()
        indexes, tables = tx.catalog.table(INDEXES.name), tx.catalog.table(TABLES.name)
        assert indexes is not None and tables is not None
        current = tx.catalog.table_by_id(table.id)
        if current is None:
            continue
        for ix in current.indexes.values():
            await tx.delete(indexes.document_id(ix.id), system=True)
        await tx.delete(tables.document_id(table.id), system=True)
        await db.commit(tx)
