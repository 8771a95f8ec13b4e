"""What `bayou doctor` reports: orphaned blobs and files whose blob is missing."""

from __future__ import annotations

from bayou.blobs import one_chunk
from bayou.database.database import Database
from bayou.files.service import FileStorage
from bayou.model import file_storage
from bayou.values import ids
from tests.files.conftest import Clock
from tests.files.test_collector import interrupted_upload


async def test_orphans_and_missing_blobs_are_reported_in_flight_uploads_are_not(
    files: FileStorage, db: Database, clock: Clock
) -> None:
    kept = await files.store_bytes(b"fine", "text/plain")
    lost = await files.store_bytes(b"lost", None)
    await files.store.delete(files.prefix + file_storage.uuid_of(ids.decode_id(lost)[1]))
    await files.store.put(files.prefix + "stray-blob", one_chunk(b"nobody's"))
    await interrupted_upload(files, db, clock)  # has a record: goes by itself, no orphan

    report = await files.audit()
    assert report["files"] == 2 and report["blobs"] == 3
    assert report["missingBlobs"] == 1 and report["missingBlobExamples"] == [lost]
    assert report["orphanedBlobs"] == 1
    assert report["orphanedBlobExamples"] == [files.prefix + "stray-blob"]
    assert report["uploadsInFlight"] == 1 and report["deletionsPending"] == 0
    assert report["store"] == files.store.description and kept != lost
