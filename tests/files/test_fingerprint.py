"""The storage fingerprint: a database refuses a store that does not hold its files."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from bayou.blobs import LocalBlobStore, MemoryBlobStore, S3BlobStore, read_all
from bayou.database.database import Database
from bayou.files import fingerprint
from bayou.files.fingerprint import FileStoreMismatch
from tests.blobs.moto_server import MotoServer
from tests.files.conftest import INSTANCE, Clock, attached, open_database
from tests.files.test_collector import delete_file


async def test_the_first_start_picks_a_prefix_records_it_and_marks_the_store(
    db: Database,
) -> None:
    store = MemoryBlobStore()
    prefix = await fingerprint.attach(db, store, "my-app")
    assert prefix.startswith("my-app-") and prefix.endswith("/")
    marker = orjson.loads(await read_all(store, prefix + "bayou-store.json") or b"")
    assert marker["prefix"] == prefix and marker["instance"] == "my-app"
    assert marker["database"] == db.persistence.description
    saved = (await db.persistence.load_globals())["file_storage"]
    assert saved == {"prefix": prefix, "kind": "memory", "location": store.description}
    assert await fingerprint.attach(db, store, "my-app") == prefix  # the same next time


async def test_a_database_with_files_refuses_an_empty_store(db: Database, clock: Clock) -> None:
    files = await attached(db, MemoryBlobStore(), clock)
    await files.store_bytes(b"precious", None)
    with pytest.raises(FileStoreMismatch) as e:
        await fingerprint.attach(db, MemoryBlobStore(), INSTANCE)
    message = e.value.message
    assert e.value.code == "FileStoreMismatch"
    assert "references 1 file that is not in the configured file store" in message
    assert "it holds no Bayou files" in message and files.prefix in message
    assert "S3_STORAGE_FILES_BUCKET" in message and "bayou-store.json" in message


async def test_a_database_without_files_adopts_a_new_store(db: Database, clock: Clock) -> None:
    first = await attached(db, MemoryBlobStore(), clock)
    await delete_file(db, await first.store_bytes(b"x", None))
    fresh = MemoryBlobStore()
    assert await fingerprint.attach(db, fresh, INSTANCE) == first.prefix
    assert await read_all(fresh, first.prefix + "bayou-store.json") is not None


async def test_another_deployments_store_is_named_in_the_refusal(
    tmp_path: Path, clock: Clock
) -> None:
    shared = MemoryBlobStore()
    theirs = await open_database(tmp_path / "theirs.sqlite3")
    ours = await open_database(tmp_path / "ours.sqlite3")
    try:
        their_prefix = await fingerprint.attach(theirs, shared, "theirs")
        files = await attached(ours, MemoryBlobStore(), clock)
        await files.store_bytes(b"ours", None)
        with pytest.raises(FileStoreMismatch) as e:
            await fingerprint.attach(ours, shared, INSTANCE)
        assert "holds the files of other deployments only" in e.value.message
        assert their_prefix in e.value.message and "instance theirs" in e.value.message
    finally:
        await theirs.close()
        await ours.close()


async def test_a_store_moved_whole_is_recognised_and_its_new_place_recorded(
    db: Database, tmp_path: Path, clock: Clock
) -> None:
    old = tmp_path / "old" / "files"
    files = await attached(db, LocalBlobStore(old), clock)
    await files.store_bytes(b"moving", None)
    new = tmp_path / "new" / "files"
    shutil.copytree(old, new)
    moved = LocalBlobStore(new)
    assert await fingerprint.attach(db, moved, INSTANCE) == files.prefix
    saved = (await db.persistence.load_globals())["file_storage"]
    assert saved["location"] == f"local directory {new}"


async def test_switching_buckets_is_refused_while_files_exist(
    db: Database, moto: MotoServer, clock: Clock
) -> None:
    first = moto.create_bucket("fingerprint-first")
    second = moto.create_bucket("fingerprint-second")
    files = await attached(db, S3BlobStore(moto.config(first)), clock)
    await files.store_bytes(b"in the first bucket", None)
    switched = S3BlobStore(moto.config(second))
    await switched.open()
    with pytest.raises(FileStoreMismatch) as e:
        await fingerprint.attach(db, switched, INSTANCE)
    assert "'fingerprint-second'" in e.value.message  # the store configured now
    assert "'fingerprint-first'" in e.value.message  # where the files are
