"""Blobs go only when nothing can need them: after the deleting transaction commits, and
for an upload that never got its row, after its URL's expiry (plus grace), never before."""

from __future__ import annotations

import asyncio

import pytest

from bayou.blobs import one_chunk
from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.database.transaction import Transaction
from bayou.files.service import UPLOAD_GRACE_S, FileStorage
from bayou.files.tokens import VALIDITY_S
from bayou.files.uploads import store_file
from bayou.model import file_storage
from bayou.model.file_storage import UploadExpired
from bayou.values import ids
from tests.files.conftest import Clock
from tests.files.test_uploads import blobs, records, rows


async def delete_file(db: Database, storage_id: str) -> None:
    async def delete(tx: Transaction) -> None:
        await file_storage.delete(tx, ids.decode_id(storage_id)[1], storage_id)

    await run_transaction(db, delete)


async def test_a_deleted_files_blob_goes_only_after_the_deleting_commit(
    files: FileStorage, db: Database
) -> None:
    storage_id = await files.store_bytes(b"doomed", None)
    key = file_storage.uuid_of(ids.decode_id(storage_id)[1])
    assert files.collector is not None

    tx = db.begin()
    await file_storage.delete(tx, ids.decode_id(storage_id)[1], storage_id)
    assert await files.collector.collect_due() == 0  # not committed: nothing to do
    assert key in await blobs(files)
    del tx  # a transaction that never commits (the mutation threw): the file stays

    await delete_file(db, storage_id)
    assert key in await blobs(files)  # committed; the collector has not run yet
    assert await files.collector.collect_due() == 1
    assert key not in await blobs(files)
    assert await rows(db) == [] and await records(db) == []


async def test_deleting_a_missing_file_is_storage_id_not_found(
    files: FileStorage, db: Database
) -> None:
    storage_id = await files.store_bytes(b"x", None)
    await delete_file(db, storage_id)
    with pytest.raises(Exception) as e:
        await delete_file(db, storage_id)
    assert getattr(e.value, "code", None) == "StorageIdNotFound"
    assert f"storage id {storage_id} not found" in str(e.value)


async def interrupted_upload(files: FileStorage, db: Database, clock: Clock) -> tuple[str, str]:
    """What a server killed between writing a blob and its row leaves: a record, a blob."""
    internal_id = ids.new_internal_id()
    key = file_storage.uuid_of(internal_id)
    collect_after = (clock.now + VALIDITY_S + UPLOAD_GRACE_S) * 1000

    async def start(tx: Transaction) -> str:
        return await file_storage.start_upload(tx, key, collect_after)

    record_id, _ = await run_transaction(db, start)
    await files.store.put(files.prefix + key, one_chunk(b"orphan"))
    return record_id, key


async def test_an_upload_without_a_row_is_collected_after_its_url_expiry_never_before(
    files: FileStorage, db: Database, clock: Clock
) -> None:
    _, key = await interrupted_upload(files, db, clock)
    assert files.collector is not None
    clock.now += VALIDITY_S  # the URL just expired: an upload may still be finishing
    assert await files.collector.collect_due() == 0
    clock.now += UPLOAD_GRACE_S - 1
    assert await files.collector.collect_due() == 0 and key in await blobs(files)
    clock.now += 1
    assert await files.collector.collect_due() == 1
    assert key not in await blobs(files) and await records(db) == []


async def test_an_upload_finishing_after_its_collection_fails_and_keeps_no_blob(
    files: FileStorage, db: Database, clock: Clock
) -> None:
    record_id, _ = await interrupted_upload(files, db, clock)

    async def claim(tx: Transaction) -> bool:
        return await file_storage.claim(tx, record_id)

    await run_transaction(db, claim)  # the collector got there first

    async def finish(tx: Transaction) -> str:
        return await file_storage.finish_upload(
            tx, record_id, ids.new_internal_id(), sha256_b64="", size=6, content_type=None
        )

    with pytest.raises(UploadExpired, match="URL expired"):
        await run_transaction(db, finish)
    assert await rows(db) == []


async def test_a_late_upload_deletes_its_own_blob_when_its_record_is_gone(
    files: FileStorage, db: Database, clock: Clock
) -> None:
    gate = asyncio.Event()

    async def slow() -> object:
        yield b"late "
        await gate.wait()
        yield b"bytes"

    upload = asyncio.ensure_future(
        store_file(
            db,
            files.store,
            files.prefix,
            slow(),  # type: ignore[arg-type]
            content_type=None,
            expected_sha256=None,
            collect_after_ms=clock.now * 1000,
        )
    )
    await asyncio.sleep(0.05)
    assert files.collector is not None
    assert await files.collector.collect_due() == 1  # claims and "deletes" the blob
    gate.set()
    with pytest.raises(UploadExpired):
        await upload
    assert await blobs(files) == ["bayou-store.json"] and await rows(db) == []


async def test_the_collector_runs_by_itself_when_a_deletion_commits(
    files: FileStorage, db: Database
) -> None:
    storage_id = await files.store_bytes(b"bye", None)
    key = file_storage.uuid_of(ids.decode_id(storage_id)[1])
    assert files.collector is not None
    files.collector.start()
    try:
        await delete_file(db, storage_id)
        for _ in range(100):
            if key not in await blobs(files):
                break
            await asyncio.sleep(0.02)
        assert key not in await blobs(files)
    finally:
        await files.collector.stop()
