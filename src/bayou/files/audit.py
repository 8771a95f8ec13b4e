"""Comparing the store with `_storage`: blobs no row references (orphans) and rows whose
blob is missing — what `bayou doctor` reports (it changes nothing).

The store is listed first, then the rows and `_blob_gc` records are read: a file uploaded
meanwhile then has its row or its record, so it is never reported as an orphan. A blob
with a `_blob_gc` record is not an orphan either: it is an upload in flight or a deletion
the collector has not finished, and it will go by itself.
"""

from __future__ import annotations

from typing import Any

from bayou.blobs import BlobStore
from bayou.database.database import Database
from bayou.database.namespaced import in_namespace
from bayou.files.fingerprint import MARKER
from bayou.model import file_storage

PAGE = 1000
PENDING_READ = 100_000


async def audit(db: Database, store: BlobStore, prefix: str, *, limit: int = 20) -> dict[str, Any]:
    """A report: counts, and up to `limit` examples of each problem."""
    blobs: dict[str, int] = {}
    async for info in store.list(prefix):
        key = info.key[len(prefix) :]
        if key != MARKER:
            blobs[key] = info.size
    rows: dict[str, str] = {}  # uuid → _storage id
    for namespace in file_storage.namespaces(db.begin(read_only=True)):  # components' too
        after: float | None = None
        while True:
            tx = in_namespace(db.begin(read_only=True), namespace)
            page = await file_storage.page(tx, after, PAGE)
            for internal_id, doc in page:
                rows[file_storage.uuid_of(internal_id)] = doc["_id"]
            if len(page) < PAGE:
                break
            after = page[-1][1]["_creationTime"]
    records = await file_storage.pending(db.begin(read_only=True), PENDING_READ)
    collecting = {r.key for r in records}
    orphans = sorted(k for k in blobs if k not in rows and k not in collecting)
    missing = sorted(rows[k] for k in rows if k not in blobs)
    return {
        "store": store.description,
        "prefix": prefix,
        "files": len(rows),
        "blobs": len(blobs),
        "bytes": sum(blobs.values()),
        "uploadsInFlight": sum(1 for r in records if r.reason == file_storage.UPLOAD),
        "deletionsPending": sum(1 for r in records if r.reason == file_storage.DELETED),
        "orphanedBlobs": len(orphans),
        "orphanedBlobExamples": [prefix + k for k in orphans[:limit]],
        "missingBlobs": len(missing),
        "missingBlobExamples": missing[:limit],
    }
