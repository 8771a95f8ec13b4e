"""Applying an import to the database: every mode of `npx convex import`.

    requireEmpty  fails when a target table already holds documents
    append        adds to the existing tables, a batch a commit (as Convex's: no swap)
    replace       each imported table takes the place of the existing one
    replaceAll    like replace, and every user table not in the import goes

Except in `append`, rows are written a batch a commit into hidden tables (namespace
`_snapshot_import/<id>`), then **one commit swaps** them in: readers see the deployment
before or after the import, never half of it, and a failure before the swap (a bad row, a
schema violation) leaves everything as it was; the hidden tables are then deleted in the
background, like the replaced ones. Memory stays flat: a batch at a time.

Documents keep their `_id` and `_creationTime`: a table gets its number in the source (the
ZIP's `_tables`, or the number in its documents' ids) when no remaining table has it, so
ids that reference other tables stay valid. Rows are checked against the deployment's
active schema as they are written. Files of a ZIP's `_storage` are written to the store
first, each recorded as an upload the collector deletes unless the swap gives it its row
(`model.file_storage`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from bayou.blobs import BlobStore
from bayou.database.catalog import FIRST_USER_TABLE_NUMBER, INDEXES, TABLES, Catalog, TableInfo
from bayou.database.database import Database
from bayou.database.limits import TransactionLimits
from bayou.database.transaction import Transaction
from bayou.errors import BayouError, OccError, ValidationError
from bayou.model import file_storage
from bayou.snapshots.parse import ImportError_, Source, StoredFile, Table
from bayou.values import ids
from bayou.values import json as vjson

log = logging.getLogger("bayou.snapshots")
BATCH = 2000
RETRIES = 3
# Imported tables are filled in a hidden namespace, swapped in, and the replaced ones
# moved to another hidden namespace to be emptied.
STAGING_PREFIX = "_snapshot_import/"
REPLACED_SUFFIX = "/replaced"
UPLOAD_GRACE_MS = 3600 * 1000.0
UNLIMITED = TransactionLimits(
    documents_read=1 << 62,
    bytes_read=1 << 62,
    index_ranges=1 << 62,
    documents_written=1 << 62,
    bytes_written=1 << 62,
)
Progress = Callable[[str], Any]


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
class FileTarget:
    """A file of the import, once its bytes are in the store."""

    file: StoredFile
    internal_id: bytes
    record_id: str | None  # its upload record (None: the blob was there already)
    sha256: str
    size: int


async def _count(tx: Transaction, table: TableInfo, limit: int | None = None) -> int:
    query: dict[str, Any] = {
        "source": {"type": "FullTableScan", "tableName": table.name, "order": "asc"},
        "operators": [{"limit": limit}] if limit else [],
    }
    n = 0
    stream = tx.query(query, system=table.is_system)
    while await stream.next_with_key() is not None:
        n += 1
    return n


async def plan(db: Database, source: Source, mode: str) -> Plan:
    """The summary of changes (and whether it deletes anything); refuses a requireEmpty
    import into a table that has documents."""
    tx = db.begin(read_only=True, limits=UNLIMITED)
    out = Plan()
    rows: list[tuple[str, int, int, str]] = []
    entries: list[tuple[str, int]] = [(t.name, t.count) for t in source.tables]
    if source.files is not None:
        entries.append((file_storage.STORAGE.name, len(source.files)))
    for name, count in entries:
        existing = tx.catalog.table(name)
        have = await _count(tx, existing) if existing is not None else 0
        if mode == "requireEmpty" and have > 0:
            raise ImportError_(
                f"Table {name} already exists. Please choose a new table name or use "
                "replace/append modes."
            )
        deleted = have if mode in ("replace", "replaceAll") else 0
        rows.append((name, count, deleted, " files" if name == "_storage" else ""))
    if mode == "replaceAll":
        imported = {name for name, _ in entries}
        for table in tx.catalog.tables():
            if table.is_system or table.namespace or table.name in imported:
                continue
            have = await _count(tx, table)
            if have:
                rows.append((table.name, 0, have, ""))
    if rows:
        out.lines += ["table | create | delete", "-" * 30]
    for name, added, deleted, unit in sorted(rows):
        out.lines.append(f"{name} | {added}{unit} | {deleted} of {deleted}{unit}")
        out.deletes = out.deletes or deleted > 0
    return out


async def store_files(
    db: Database, store: BlobStore, prefix: str, source: Source, now_ms: float
) -> list[FileTarget]:
    """Write the ZIP's files to the store, each as a pending upload (collected unless the
    import's commit gives it its row)."""
    assert source.files is not None and source.zip is not None
    targets: list[FileTarget] = []
    for f in source.files:
        try:
            number, internal_id = ids.decode_id(f.id)
        except BayouError:
            raise ImportError_(f"_storage: {f.id!r} is not a valid storage id") from None
        if number != file_storage.STORAGE.number:
            raise ImportError_(f"_storage: {f.id!r} is not an id of the _storage table")
        key = file_storage.uuid_of(internal_id)
        row = await file_storage.get(db.begin(read_only=True), internal_id)
        if row is not None:  # the same file is here already: keep its blob as it is
            targets.append(FileTarget(f, internal_id, None, row["sha256"], int(row["size"])))
            continue
        tx = db.begin()
        record_id = await file_storage.start_upload(tx, key, now_ms + UPLOAD_GRACE_MS)
        await db.commit(tx)
        hasher = hashlib.sha256()
        size = await store.put(
            prefix + key, _entry_chunks(source, f.entry, hasher), content_type=f.content_type
        )
        digest = base64.b64encode(hasher.digest()).decode()
        if f.sha256 is not None and f.sha256 != digest:
            raise ImportError_(
                f"_storage: the contents of {f.entry} do not match its sha256 in "
                "_storage/documents.jsonl: the ZIP is damaged."
            )
        targets.append(FileTarget(f, internal_id, record_id, digest, size))
    return targets


async def _entry_chunks(source: Source, entry: str, hasher: Any) -> AsyncIterator[bytes]:
    assert source.zip is not None
    fh = await asyncio.to_thread(source.zip.open, entry)
    try:
        while True:
            chunk = await asyncio.to_thread(fh.read, 1 << 20)
            if not chunk:
                return
            hasher.update(chunk)
            yield chunk
    finally:
        fh.close()


async def apply(
    db: Database,
    source: Source,
    mode: str,
    *,
    files: list[FileTarget] | None = None,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Import `source`; returns (rows written, commit ts of the import).

    `append` writes into the tables in batches (as Convex's does: no swap). The other
    modes fill hidden tables in batches and swap them in with one commit.
    """
    report = progress or (lambda message: None)
    if mode == "append":
        return await _append(db, source, files or [], report)
    staging = f"{STAGING_PREFIX}{secrets.token_hex(8)}"
    try:
        numbers = _numbers(db.catalog, source, mode)
        await _create_staged(db, staging, source, numbers)
        written = 0
        for table in source.tables:
            report(f"Importing {table.name}")
            written += await _fill(db, staging, table, numbers)
        ts = await _swap(db, staging, source, mode, files or [])
    except BaseException:
        await _shielded(drop_namespace(db, staging))
        raise
    await _shielded(drop_namespace(db, staging + REPLACED_SUFFIX))
    return written, ts


async def _shielded(work: Any) -> None:
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise
    except Exception:
        log.exception("cleaning up after an import failed")


def _numbers(catalog: Catalog, source: Source, mode: str) -> dict[str, int]:
    """The table number of each imported table: the source's (so ids stay valid) when
    no table that stays has it, else the replaced table's, else a new one."""
    imported = {t.name for t in source.tables}
    staying = {
        t.number: t.name
        for t in catalog.tables()
        if t.namespace == "" and (t.is_system or (t.name not in imported and mode != "replaceAll"))
    }
    taken = set(staying)
    out: dict[str, int] = {}
    wanted = {
        t.name: t.number if t.number is not None else _first_id_number(t) for t in source.tables
    }
    for table in source.tables:
        number = wanted[table.name]
        if number is not None and number >= FIRST_USER_TABLE_NUMBER and number not in taken:
            out[table.name] = number
            taken.add(number)
    for table in source.tables:
        if table.name in out:
            continue
        existing = catalog.table(table.name)
        if existing is not None and existing.number not in taken:
            number = existing.number
        else:
            number = (
                max([FIRST_USER_TABLE_NUMBER - 1, *(t.number for t in catalog.tables()), *taken])
                + 1
            )
        out[table.name] = number
        taken.add(number)
    return out


async def _create_staged(
    db: Database, staging: str, source: Source, numbers: dict[str, int]
) -> None:
    """The hidden tables, with the indexes of the tables they replace."""
    tx = db.begin(namespace=staging)
    for table in source.tables:
        info = tx._create_table(table.name, number=numbers[table.name])
        existing = db.catalog.table(table.name)
        for ix in existing.indexes.values() if existing is not None else ():
            # Search and vector indexes too: the swapped-in table keeps every index.
            if ix.kind != "by_id" and ix.name not in info.indexes:
                tx.add_index(
                    info,
                    ix.name,
                    ix.fields,
                    kind=ix.kind,
                    staged=ix.staged,
                    dimensions=ix.dimensions,
                )
    await db.commit(tx)


def _first_id_number(table: Table) -> int | None:
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


async def _fill(db: Database, staging: str, table: Table, numbers: dict[str, int]) -> int:
    """Write a table's rows into its hidden table, a batch a commit, checked against the
    deployment's schema as they will be once swapped in."""
    schema = db.catalog.schema("", "active")
    by_number = {number: name for name, number in numbers.items()}

    def id_table(doc_id: str) -> str | None:
        number = ids.table_number_of(doc_id)
        if number in by_number:
            return by_number[number]
        info = db.catalog.table_by_number(number) if number is not None else None
        return info.name if info is not None else None

    written = 0
    async for batch in _batches(table):
        tx = db.begin(namespace=staging, limits=UNLIMITED)
        info = tx.catalog.table(table.name, staging)
        assert info is not None
        docs = [_document(tx, table.name, info, lineno, value) for lineno, value in batch]
        await _check_new(tx, info, table.name, docs)
        for lineno, internal_id, doc in docs:
            await _insert(tx, table.name, info, lineno, internal_id, doc)  # sizes first
            if schema is not None:
                try:
                    schema.schema.check_document(table.name, doc, id_table)
                except ValidationError as e:
                    raise ImportError_(
                        f"Row {lineno} of table {table.name!r}: Failed to insert or update a "
                        f"document in table {table.name!r} because it does not match the "
                        f"schema: {e.message}"
                    ) from None
        await db.commit(tx)
        written += len(docs)
    return written


async def _append(
    db: Database, source: Source, files: list[FileTarget], report: Progress
) -> tuple[int, int]:
    written, ts = 0, db.latest_ts
    numbers = _numbers(db.catalog, source, "append")
    for table in source.tables:
        report(f"Importing {table.name}")
        tx = db.begin()
        if tx.table_for_read(table.name) is None:
            tx._create_table(table.name, number=numbers[table.name])
            ts = await db.commit(tx)
        async for batch in _batches(table):
            tx = db.begin(limits=UNLIMITED)
            info = tx.table_for_read(table.name)
            assert info is not None
            docs = [_document(tx, table.name, info, lineno, value) for lineno, value in batch]
            await _check_new(tx, info, table.name, docs)
            for lineno, internal_id, doc in docs:
                await _insert(tx, table.name, info, lineno, internal_id, doc)
            ts = await db.commit(tx)
            written += len(docs)
    if files:
        tx = db.begin(limits=UNLIMITED)
        await _stage_files(tx, files, replacing=False)
        ts = await db.commit(tx)
    return written, ts


async def _swap(
    db: Database, staging: str, source: Source, mode: str, files: list[FileTarget]
) -> int:
    """One commit: each imported table takes the place of the one it replaces (which goes
    to a hidden namespace, to be emptied), files get their rows."""
    replaced = staging + REPLACED_SUFFIX
    imported = {t.name for t in source.tables}
    for attempt in range(RETRIES + 1):
        tx = db.begin(limits=UNLIMITED)
        tables = tx.catalog.table(TABLES.name)
        assert tables is not None
        for table in source.tables:
            existing = tx.table_for_read(table.name)
            if existing is not None:
                if mode == "requireEmpty" and await _count(tx, existing, 1):
                    raise ImportError_(
                        f"Table {table.name} already exists. Please choose a new table name "
                        "or use replace/append modes."
                    )
                await tx.patch(
                    tables.document_id(existing.id), {"namespace": replaced}, system=True
                )
            staged = tx.catalog.table(table.name, staging)
            assert staged is not None
            await tx.patch(tables.document_id(staged.id), {"namespace": ""}, system=True)
        if mode == "replaceAll":
            for info in list(tx.catalog.tables()):
                if not info.is_system and info.namespace == "" and info.name not in imported:
                    await tx.patch(
                        tables.document_id(info.id), {"namespace": replaced}, system=True
                    )
        if files or (source.files is not None and mode != "requireEmpty"):
            await _stage_files(tx, files, replacing=mode != "requireEmpty")
        try:
            return await db.commit(tx)
        except OccError:
            if attempt == RETRIES:
                raise
    raise AssertionError("unreachable")


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


class _Clock:
    """Fresh `_creationTime`s for rows without one: increasing, in milliseconds."""

    last = 0.0

    @classmethod
    def next(cls) -> float:
        now = max(time.time() * 1000.0, math.nextafter(cls.last, math.inf))
        cls.last = now
        return now


def _document(
    tx: Transaction, table_name: str, info: TableInfo, lineno: int, value: dict[str, Any]
) -> tuple[int, bytes, dict[str, Any]]:
    """A row as the document to store: its id checked (or a new one), its creation time."""
    where = f"Row {lineno} of table {table_name!r}"
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
            other = tx.db.catalog.table_by_number(number)
            owner = f"table {other.name!r}" if other is not None else f"table number {number}"
            raise ImportError_(
                f"{where}: `_id` {doc_id!r} is an id of {owner}, not of {table_name!r} "
                f"(number {info.number}). Import ids into the table they belong to, or drop "
                "the `_id` column to get new ids."
            )
    if "_creationTime" not in doc:
        doc["_creationTime"] = _Clock.next()
    return lineno, internal_id, doc


async def _check_new(
    tx: Transaction, info: TableInfo, table_name: str, docs: list[tuple[int, bytes, dict[str, Any]]]
) -> None:
    """No two rows, and no row and stored document, share an id."""
    seen: dict[bytes, int] = {}
    for lineno, internal_id, doc in docs:
        if internal_id in seen:
            raise ImportError_(
                f"Row {lineno} of table {table_name!r}: `_id` {doc['_id']!r} appears twice "
                "in the import"
            )
        seen[internal_id] = lineno
    found = await tx.db.persistence.get_documents([(info.id, i) for i in seen], tx.begin_ts)
    for (_, internal_id), revision in found.items():
        if revision.value is not None:
            lineno = seen[internal_id]
            raise ImportError_(
                f"Row {lineno} of table {table_name!r}: a document with `_id` "
                f"{info.document_id(internal_id)!r} already exists (in this import or the "
                "table): use --replace to overwrite the table."
            )


async def _insert(
    tx: Transaction,
    table_name: str,
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
        raise ImportError_(f"Row {lineno} of table {table_name!r}: {e.message}") from None


async def _stage_files(tx: Transaction, files: list[FileTarget], replacing: bool) -> None:
    storage = tx.catalog.table(file_storage.STORAGE.name)
    assert storage is not None
    imported = {f.internal_id for f in files}
    if replacing:
        query = {
            "source": {"type": "FullTableScan", "tableName": storage.name, "order": "asc"},
            "operators": [],
        }
        for doc in await tx.query(query, system=True).collect():
            _, internal_id = ids.decode_id(doc["_id"])
            if internal_id not in imported:
                await file_storage.delete(tx, internal_id, doc["_id"])
    for f in files:
        existing = await tx.get_doc(storage, f.internal_id)
        value = {
            "_id": f.file.id,
            "_creationTime": f.file.creation_time or _Clock.next(),
            "sha256": f.sha256,
            "size": float(f.size),
            "contentType": f.file.content_type,
        }
        if existing is not None:
            if not replacing:
                raise ImportError_(
                    f"_storage: the file {f.file.id} already exists: use --replace to "
                    "overwrite file storage."
                )
            await tx.replace(
                f.file.id, {k: v for k, v in value.items() if not k.startswith("_")}, system=True
            )
        else:
            await tx.insert_document(storage, f.internal_id, value)
        if f.record_id is not None:
            await tx.delete(f.record_id, system=True)
