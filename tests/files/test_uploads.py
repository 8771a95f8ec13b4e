"""Storing and serving files through `FileStorage`: rows in `_storage`, blobs in the
store, digests checked, failures leaving neither a row without a blob nor a lost blob."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator

import pytest

from bayou.database.database import Database
from bayou.errors import BadRequest, NotFound, Unauthenticated
from bayou.files.service import FileStorage
from bayou.model import file_storage
from bayou.values import ids
from tests.files.conftest import Clock


async def body(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


async def rows(db: Database) -> list[dict]:
    return [d for _, d in await file_storage.page(db.begin(read_only=True), None, 100)]


async def records(db: Database) -> list[file_storage.GcRecord]:
    return await file_storage.pending(db.begin(read_only=True), 100)


async def blobs(files: FileStorage) -> list[str]:
    return [i.key.removeprefix(files.prefix) async for i in files.store.list(files.prefix)]


async def test_an_upload_is_a_storage_row_and_a_blob(files: FileStorage, db: Database) -> None:
    url = files.upload_url()
    assert url.startswith("http://b.test/api/storage/upload?token=")
    token = url.split("token=")[1]
    storage_id = await files.upload(
        token, body(b"hello ", b"files"), content_type="text/plain", digest=None
    )
    number, internal_id = ids.decode_id(storage_id)
    assert number == 28
    [row] = await rows(db)
    assert row["_id"] == storage_id
    assert {k: row[k] for k in ("sha256", "size", "contentType")} == {
        "sha256": sha(b"hello files"),
        "size": 11.0,
        "contentType": "text/plain",
    }
    assert set(row) == {"_id", "_creationTime", "sha256", "size", "contentType"}
    uuid = file_storage.uuid_of(internal_id)
    assert sorted(await blobs(files)) == sorted([uuid, "bayou-store.json"])
    assert await records(db) == []
    assert files.file_url(internal_id) == f"http://b.test/api/storage/{uuid}"


async def test_a_matching_digest_is_accepted_and_a_wrong_one_stores_nothing(
    files: FileStorage, db: Database
) -> None:
    token = files.tokens.issue()
    good = f"sha-256={sha(b'abc')}"
    await files.upload(token, body(b"abc"), content_type=None, digest=good)
    with pytest.raises(BadRequest) as e:
        await files.upload(token, body(b"abd"), content_type=None, digest=good)
    assert e.value.code == "Sha256Mismatch"
    assert e.value.message == f"Sha256 mismatch. Expected: {sha(b'abc')} Actual: {sha(b'abd')}"
    assert len(await rows(db)) == 1 and len(await blobs(files)) == 2  # the first + marker
    assert await records(db) == []
    with pytest.raises(BadRequest) as bad:
        await files.upload(token, body(b"x"), content_type=None, digest="md5=abc")
    assert bad.value.code == "BadHeader"


async def test_an_expired_or_forged_token_reads_no_byte(files: FileStorage, clock: Clock) -> None:
    token = files.tokens.issue()
    clock.now += 3600
    read = False

    async def watched() -> AsyncIterator[bytes]:
        nonlocal read
        read = True
        yield b"x"

    for bad in (token, token[:-4] + "0000"):
        with pytest.raises(Unauthenticated):
            await files.upload(bad, watched(), content_type=None, digest=None)
    assert not read


async def test_an_upload_whose_client_goes_away_leaves_nothing(
    files: FileStorage, db: Database
) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"part"
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        await files.upload(files.tokens.issue(), broken(), content_type=None, digest=None)
    assert await rows(db) == [] and await records(db) == []
    assert await blobs(files) == ["bayou-store.json"]


async def test_actions_store_and_read_bytes(files: FileStorage) -> None:
    storage_id = await files.store_bytes(b"from an action", "text/plain")
    _, internal_id = ids.decode_id(storage_id)
    assert await files.read_bytes(internal_id) == b"from an action"
    with pytest.raises(BadRequest, match="Sha256 mismatch"):
        await files.store_bytes(b"x", None, hashlib.sha256(b"y").digest())


async def test_serving_whole_ranges_and_missing(files: FileStorage) -> None:
    storage_id = await files.store_bytes(b"0123456789", "text/plain")
    uuid = file_storage.uuid_of(ids.decode_id(storage_id)[1])
    whole = await files.serve(uuid, None)
    assert whole.status == 200 and whole.body is not None
    assert whole.headers == {
        "cache-control": "private, max-age=2592000",
        "accept-ranges": "bytes",
        "content-type": "text/plain",
        "content-length": "10",
        "digest": f"sha-256={sha(b'0123456789')}",
    }
    assert b"".join([c async for c in whole.body]) == b"0123456789"
    part = await files.serve(uuid.upper(), "bytes=2-4")
    assert part.status == 206 and part.headers["content-range"] == "bytes 2-4/10"
    assert part.headers["content-length"] == "3" and "digest" not in part.headers
    assert b"".join([c async for c in part.body]) == b"234"  # type: ignore[union-attr]
    several = await files.serve(uuid, "bytes=0-1,4-5")
    assert several.status == 416 and several.body is None
    with pytest.raises(NotFound) as missing:
        await files.serve("00000000-0000-0000-0000-000000000000", None)
    assert missing.value.code == "FileNotFound"
    with pytest.raises(BadRequest) as invalid:
        await files.serve("upload", None)
    assert invalid.value.code == "InvalidStoragePath"


async def test_a_row_whose_blob_is_gone_is_a_clear_error(files: FileStorage) -> None:
    storage_id = await files.store_bytes(b"soon gone", None)
    internal_id = ids.decode_id(storage_id)[1]
    await files.store.delete(files.prefix + file_storage.uuid_of(internal_id))
    with pytest.raises(Exception, match="data is missing from the file store"):
        await files.serve(file_storage.uuid_of(internal_id), None)
    with pytest.raises(Exception, match="data is missing"):
        await files.read_bytes(internal_id)
