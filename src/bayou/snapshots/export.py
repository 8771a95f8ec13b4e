"""Writing a snapshot export: one consistent snapshot of a deployment as a ZIP file laid out
as Convex's (ops-surface.md §3.2), so either side imports the other's exports.

    README.md                        welcome text
    _tables/documents.jsonl          {"name": <table>, "id": <table number>} per user table
    <table>/documents.jsonl          one document per line, export encoding
    <table>/generated_schema.jsonl   "uniform"
    _storage/documents.jsonl         (with files) {_id, _creationTime, sha256, size, contentType, internalId}
    _storage/<storage id>[.ext]      (with files) the bytes
    _components/<name>/…             the same for each component, nested for a child
                                     component (`_components/a/_components/b/` is `a/b`)

Every entry is Deflate, mode 0644, written in this order: README, every component's
`_tables` (the app's first), the tables of all components smallest first, every
component's `_storage` — as Convex's backend writes them. The
snapshot is the database at one timestamp, read page by page straight from persistence
(MVCC keeps it stable while writes go on), so memory stays flat whatever the size; the
ZIP is written to a local file by a worker thread as pages arrive.
"""

from __future__ import annotations

import asyncio
import mimetypes
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from bayou.blobs import BlobStore
from bayou.database.catalog import TableInfo
from bayou.database.database import Database
from bayou.model.file_storage import STORAGE, uuid_of
from bayou.persistence.base import DocumentRevision
from bayou.values import json as vjson

PAGE = 1000
ZIP64_AFTER_DOCUMENTS = 100_000  # tables this big might pass 4 GiB of JSON: use ZIP64
README = """# Welcome to your Bayou snapshot export!

This ZIP file contains a snapshot of the tables in your deployment, in the layout of
Convex's snapshot exports: `npx convex import` (against Bayou or Convex) or
`bayou restore` reads it back.

Each table has a directory holding `documents.jsonl` (one document per line, with its
`_id` and `_creationTime`) and `generated_schema.jsonl`. `_tables/documents.jsonl` lists
the tables with their numbers. With file storage included, `_storage/documents.jsonl`
lists the files and `_storage/` holds their contents. The tables and files of each
component are under `_components/<name>/`, in the same layout.
"""

Progress = Callable[[str], Any]


@dataclass
class ExportResult:
    ts: int
    size: int
    documents: dict[str, int] = field(default_factory=dict)
    files: int = 0


@dataclass
class FileSource:
    """Where the deployment's file bytes are: the blob store and its key prefix."""

    store: BlobStore
    prefix: str


def component_prefix(component: str) -> str:
    """Where a component's entries go: "" for the app, `_components/<name>/` for each
    name of its path."""
    return "".join(f"_components/{name}/" for name in component.split("/") if name)


def _label(table: TableInfo) -> str:
    return f"{table.namespace}:{table.name}" if table.namespace else table.name


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o100644 << 16
    return info


async def scan(
    db: Database, table_id: bytes, ts: int, page_size: int = PAGE
) -> AsyncIterator[list[DocumentRevision]]:
    """The live documents of a table at `ts`, `page_size` at a time."""
    after: bytes | None = None
    while True:
        page = await db.persistence.scan_table(table_id, ts, after, page_size)
        if page:
            yield page
        if len(page) < page_size:
            return
        after = page[-1].id


async def count(db: Database, table_id: bytes, ts: int) -> int:
    n = 0
    async for page in scan(db, table_id, ts):
        n += len(page)
    return n


def _export_lines(page: list[DocumentRevision]) -> bytes:
    out = bytearray()
    for revision in page:
        assert revision.value is not None
        out += vjson.dumps_export(vjson.loads(revision.value))
        out += b"\n"
    return bytes(out)


def _storage_lines(page: list[DocumentRevision]) -> bytes:
    out = bytearray()
    for revision in page:
        assert revision.value is not None
        doc = vjson.loads(revision.value)
        line = {
            "_id": doc["_id"],
            "_creationTime": doc["_creationTime"],
            "sha256": doc["sha256"],
            "size": int(doc["size"]),
            "contentType": doc.get("contentType"),
            "internalId": uuid_of(revision.id),
        }
        out += orjson.dumps(line) + b"\n"
    return bytes(out)


def extension_for(content_type: str | None) -> str:
    """An extension for a file's content type ("" when none is known), as Convex adds one."""
    if not content_type:
        return ""
    return mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""


class _Entry:
    """One ZIP entry being written from the event loop, its writes done in a thread."""

    def __init__(self, zf: zipfile.ZipFile, name: str, zip64: bool = False) -> None:
        self._zf = zf
        self._name = name
        self._zip64 = zip64
        self._fh: IO[bytes] | None = None

    async def __aenter__(self) -> _Entry:
        self._fh = await asyncio.to_thread(
            self._zf.open, _info(self._name), "w", force_zip64=self._zip64
        )
        return self

    async def write(self, data: bytes) -> None:
        assert self._fh is not None
        await asyncio.to_thread(self._fh.write, data)

    async def __aexit__(self, *exc: object) -> None:
        assert self._fh is not None
        await asyncio.to_thread(self._fh.close)


async def write_export(
    db: Database,
    path: Path,
    *,
    files: FileSource | None,
    progress: Progress | None = None,
    ts: int | None = None,
    components: Iterable[str] = (),
) -> ExportResult:
    """Write the snapshot at `ts` (default: the latest) to `path`, a ZIP; `files`
    includes file storage. Every component with tables is exported, and those of
    `components` (the deployed ones) even without."""
    ts = db.latest_ts if ts is None else ts
    catalog = db.catalog_at(ts)
    report = progress or (lambda message: None)
    # Hidden namespaces (an import's tables in the making) start with "_"; components'
    # names never do.
    tables = [t for t in catalog.tables() if not t.is_system and not t.namespace.startswith("_")]
    namespaces = sorted(
        {"", *components, *(t.namespace for t in tables)}, key=lambda c: (c != "", c)
    )
    sizes: dict[bytes, int] = {}
    for table in tables:
        sizes[table.id] = await count(db, table.id, ts)
    tables.sort(key=lambda t: (sizes[t.id], t.name, t.namespace))
    result = ExportResult(ts=ts, size=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    zf = await asyncio.to_thread(zipfile.ZipFile, path, "w", zipfile.ZIP_DEFLATED, True)
    try:
        async with _Entry(zf, "README.md") as entry:
            await entry.write(README.encode())
        for namespace in namespaces:
            async with _Entry(zf, f"{component_prefix(namespace)}_tables/documents.jsonl") as entry:
                lines = b"".join(
                    orjson.dumps({"name": t.name, "id": t.number}) + b"\n"
                    for t in sorted(tables, key=lambda t: t.number)
                    if t.namespace == namespace
                )
                await entry.write(lines)
        total = sum(sizes.values())
        done = 0
        for table in tables:
            report(f"Exporting {_label(table)} ({done}/{total} documents)")
            done += await _write_table(db, zf, table, ts, sizes[table.id])
            result.documents[_label(table)] = sizes[table.id]
        if files is not None:
            for namespace in namespaces:
                report(f"Exporting _storage{' of ' + namespace if namespace else ''}")
                storage = catalog.table(STORAGE.name, namespace)
                prefix = component_prefix(namespace)
                result.files += await _write_storage(db, zf, prefix, storage, ts, files)
    finally:
        await asyncio.to_thread(zf.close)
    result.size = path.stat().st_size
    return result


async def _write_table(
    db: Database, zf: zipfile.ZipFile, table: TableInfo, ts: int, expected: int
) -> int:
    n = 0
    zip64 = expected > ZIP64_AFTER_DOCUMENTS
    prefix = component_prefix(table.namespace)
    async with _Entry(zf, f"{prefix}{table.name}/documents.jsonl", zip64) as entry:
        async for page in scan(db, table.id, ts):
            await entry.write(await asyncio.to_thread(_export_lines, page))
            n += len(page)
    async with _Entry(zf, f"{prefix}{table.name}/generated_schema.jsonl") as entry:
        await entry.write(b'"uniform"\n')
    return n


async def _write_storage(
    db: Database,
    zf: zipfile.ZipFile,
    prefix: str,
    storage: TableInfo | None,
    ts: int,
    files: FileSource,
) -> int:
    """A component's `_storage/` (its listing empty when it has no files, as Convex's)."""
    async with _Entry(zf, f"{prefix}_storage/documents.jsonl") as entry:
        if storage is not None:
            async for page in scan(db, storage.id, ts):
                await entry.write(_storage_lines(page))
    if storage is None:
        return 0
    n = 0
    async for page in scan(db, storage.id, ts):
        for revision in page:
            assert revision.value is not None
            doc = vjson.loads(revision.value)
            name = f"{prefix}_storage/{doc['_id']}{extension_for(doc.get('contentType'))}"
            key = files.prefix + uuid_of(revision.id)
            body = await files.store.get(key)
            if body is None:
                raise FileNotFoundError(
                    f"The file {doc['_id']} has a row in _storage but no data in the file "
                    "store; `bayou doctor` lists such files."
                )
            try:
                zip64 = int(doc["size"]) > (1 << 31)
                async with _Entry(zf, name, zip64) as entry:
                    async for chunk in body:
                        await entry.write(chunk)
            finally:
                await body.aclose()
            n += 1
    return n
