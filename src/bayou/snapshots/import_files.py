"""The files of an imported ZIP (`_storage/` of the app and of each component).

Their bytes are written to the blob store before the import's last commit, each recorded
as a pending upload that the collector deletes unless that commit gives the file its
`_storage` row (`model.file_storage`); the commit writes the rows into the `_storage`
table of the component the file belongs to (created when the component has none yet).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bayou.blobs import BlobStore
from bayou.database.database import Database
from bayou.database.namespaced import in_namespace
from bayou.database.transaction import Transaction
from bayou.errors import BayouError
from bayou.model import file_storage
from bayou.snapshots.parse import ImportError_, Source, StoredFile
from bayou.values import ids

UPLOAD_GRACE_MS = 3600 * 1000.0


@dataclass
class FileTarget:
    """A file of the import, once its bytes are in the store."""

    file: StoredFile
    internal_id: bytes
    record_id: str | None  # its upload record (None: the blob was there already)
    sha256: str
    size: int


async def store_files(
    db: Database, store: BlobStore, prefix: str, source: Source, now_ms: float
) -> list[FileTarget]:
    """Write the ZIP's files to the store, each as a pending upload (collected unless the
    import's commit gives it its row)."""
    assert source.zip is not None
    targets: list[FileTarget] = []
    for f in source.all_files:
        try:
            number, internal_id = ids.decode_id(f.id)
        except BayouError:
            raise ImportError_(f"_storage: {f.id!r} is not a valid storage id") from None
        if number != file_storage.STORAGE.number:
            raise ImportError_(f"_storage: {f.id!r} is not an id of the _storage table")
        key = file_storage.uuid_of(internal_id)
        reader = in_namespace(db.begin(read_only=True), f.component)
        row = await file_storage.get(reader, internal_id)
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


async def stage_files(
    tx: Transaction, component: str, files: list[FileTarget], replacing: bool
) -> None:
    """In `tx`: the `_storage` rows of `component`'s imported files (`replacing`: the
    component's other files go)."""
    view = in_namespace(tx, component)
    storage = view.table_for_read(file_storage.STORAGE.name)
    if storage is None:
        storage = view._create_table(file_storage.STORAGE.name)
    imported = {f.internal_id for f in files}
    if replacing:
        query = {
            "source": {"type": "FullTableScan", "tableName": storage.name, "order": "asc"},
            "operators": [],
        }
        for doc in await view.query(query, system=True).collect():
            _, internal_id = ids.decode_id(doc["_id"])
            if internal_id not in imported:
                await file_storage.delete(view, internal_id, doc["_id"])
    for f in files:
        existing = await view.get_doc(storage, f.internal_id)
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
            await view.replace(
                f.file.id, {k: v for k, v in value.items() if not k.startswith("_")}, system=True
            )
        else:
            await view.insert_document(storage, f.internal_id, value)
        if f.record_id is not None:  # the upload record lives in the app's `_blob_gc`
            await in_namespace(tx, "").delete(f.record_id, system=True)


class _Clock:
    """Fresh `_creationTime`s for rows without one: increasing, in milliseconds."""

    last = 0.0

    @classmethod
    def next(cls) -> float:
        now = max(time.time() * 1000.0, math.nextafter(cls.last, math.inf))
        cls.last = now
        return now


fresh_creation_time = _Clock.next
