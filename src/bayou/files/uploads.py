"""Storing a file: bytes streamed into the blob store, then one short transaction.

    record the upload in `_blob_gc`   (its blob is garbage unless a row comes), while
    the chunks stream into the store, hashed (SHA-256) on the way; the store publishes
    the blob only after the record has committed
    check the `Digest` the client sent, if any  → `Sha256Mismatch`, nothing kept
    insert the `_storage` row and drop the record, in one commit

As on Convex the row is written in its own transaction after the slow part, so an upload
never holds a transaction open. Whatever fails on the way leaves neither a row without a
blob (the row is last) nor a blob forever (the record makes the collector delete it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterable, AsyncIterator

from bayou.blobs import BlobStore
from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest
from bayou.model import file_storage
from bayou.values import ids

log = logging.getLogger("bayou.files")


class Sha256Mismatch(BadRequest):
    default_code = "Sha256Mismatch"


def parse_digest(header: str | None) -> bytes | None:
    """The SHA-256 of a `Digest: sha-256=<base64>` header (None: no header); `BadHeader`
    as Convex's for anything else."""
    if header is None:
        return None
    value = header.strip()
    digest = None
    if value.startswith("sha-256="):
        try:
            digest = base64.b64decode(value[len("sha-256=") :], validate=True)
        except ValueError:
            digest = None
    if digest is None or len(digest) != 32:
        raise BadRequest("Bad header for digest: invalid HTTP header (digest)", code="BadHeader")
    return digest


async def store_file(
    db: Database,
    store: BlobStore,
    prefix: str,
    chunks: AsyncIterable[bytes],
    *,
    content_type: str | None,
    expected_sha256: bytes | None,
    collect_after_ms: float,
    namespace: str = "",
) -> str:
    """Store one file; returns its `_storage` id. Until it has a row, its blob may be
    collected after `collect_after_ms` (the upload URL's expiry plus a grace period)."""
    internal_id = ids.new_internal_id()
    key = file_storage.uuid_of(internal_id)

    async def start(tx: Transaction) -> str:
        return await file_storage.start_upload(tx, key, collect_after_ms)

    # The record commits while the first bytes arrive; the store cannot make the blob
    # visible before the last chunk is taken, and that waits for the record.
    recording = asyncio.ensure_future(run_transaction(db, start))
    hasher = hashlib.sha256()

    async def hashed() -> AsyncIterator[bytes]:
        async for chunk in chunks:
            hasher.update(chunk)
            yield chunk
        await recording

    try:
        size = await store.put(prefix + key, hashed(), content_type=content_type)
    except BaseException:
        await _shielded(_abandon_recorded(db, recording))  # nothing was stored
        raise
    record_id, _ = recording.result()
    digest = hasher.digest()
    if expected_sha256 is not None and expected_sha256 != digest:
        await _shielded(_discard(db, store, prefix + key, record_id))
        raise Sha256Mismatch(
            f"Sha256 mismatch. Expected: {base64.b64encode(expected_sha256).decode()} "
            f"Actual: {base64.b64encode(digest).decode()}"
        )

    async def finish(tx: Transaction) -> str:
        return await file_storage.finish_upload(
            tx,
            record_id,
            internal_id,
            sha256_b64=base64.b64encode(digest).decode(),
            size=size,
            content_type=content_type,
            namespace=namespace,
        )

    try:
        storage_id, _ = await run_transaction(db, finish)
    except BaseException:
        # No row: the blob is garbage (the collector deletes it too, from the record).
        await _shielded(_discard(db, store, prefix + key, record_id))
        raise
    return storage_id


async def _abandon_recorded(db: Database, recording: asyncio.Future[tuple[str, int]]) -> None:
    try:
        record_id, _ = await recording
    except Exception:
        return  # never recorded: nothing to drop
    await _abandon(db, record_id)


async def _abandon(db: Database, record_id: str) -> None:
    async def drop(tx: Transaction) -> None:
        await file_storage.abandon_upload(tx, record_id)

    await run_transaction(db, drop)


async def _discard(db: Database, store: BlobStore, key: str, record_id: str) -> None:
    await store.delete(key)
    await _abandon(db, record_id)


async def _shielded(work) -> None:  # type: ignore[no-untyped-def]
    """Clean up even when the caller is being cancelled; a failure is only logged (the
    collector finishes the job from the record)."""
    task = asyncio.ensure_future(work)
    with contextlib.suppress(BaseException):
        await asyncio.shield(task)
    if task.done() and not task.cancelled() and task.exception() is not None:
        log.warning("cleaning up after a failed upload: %s", task.exception())
