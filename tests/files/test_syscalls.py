"""The storage syscalls (`bayou.runner.storage_syscalls`) with Convex's shapes and errors:
ids or UUIDs, `getMetadata`'s hex digest, deletes only outside queries, the 20 MiB limit
of an action's `store`/`get`, `store`/`get` unknown outside actions."""

from __future__ import annotations

import base64
import hashlib
from types import SimpleNamespace
from typing import Any

import pytest

from bayou.database.database import Database
from bayou.errors import BadRequest
from bayou.files.service import FileStorage
from bayou.model import file_storage
from bayou.runner import storage_syscalls
from bayou.values import ids


def contexts(db: Database, files: FileStorage, *, read_only: bool = False) -> Any:
    ctx = SimpleNamespace(runner=SimpleNamespace(db=db, files=files), component="")
    return ctx, SimpleNamespace(ctx=ctx, tx=db.begin(read_only=read_only))


async def test_get_url_and_metadata_take_ids_and_uuids(db: Database, files: FileStorage) -> None:
    storage_id = await files.store_bytes(b"meta", "text/plain")
    uuid = file_storage.uuid_of(ids.decode_id(storage_id)[1])
    _, sys = contexts(db, files, read_only=True)
    for given in (storage_id, uuid, uuid.upper()):
        url = await storage_syscalls.get_url(sys, {"storageId": given})
        assert url == f"http://b.test/api/storage/{uuid}"
    assert await storage_syscalls.get_metadata(sys, {"storageId": storage_id}) == {
        "storageId": uuid,
        "sha256": hashlib.sha256(b"meta").hexdigest(),
        "size": 4,
        "contentType": "text/plain",
    }
    url = await storage_syscalls.generate_upload_url(sys, {})
    assert url.startswith("http://b.test/api/storage/upload?token=")


async def test_invalid_ids_are_convexs_invalid_argument(db: Database, files: FileStorage) -> None:
    _, sys = contexts(db, files, read_only=True)
    with pytest.raises(BadRequest) as e:
        await storage_syscalls.get_url(sys, {"storageId": "nope"})
    assert e.value.code == "InvalidArgument"
    assert e.value.message.startswith(
        'Invalid argument `storageId` for `storage.getUrl`: Invalid storage ID: "nope".'
    )
    other = ids.encode_id(10001, ids.new_internal_id())
    with pytest.raises(BadRequest, match="cannot be an ID on any table other than '_storage'"):
        await storage_syscalls.get_metadata(sys, {"storageId": other})


async def test_queries_cannot_delete_and_mutations_delete_in_their_transaction(
    db: Database, files: FileStorage
) -> None:
    storage_id = await files.store_bytes(b"x", None)
    _, query = contexts(db, files, read_only=True)
    with pytest.raises(BadRequest, match="A query cannot delete files"):
        await storage_syscalls.delete(query, {"storageId": storage_id})
    _, mutation = contexts(db, files)
    await storage_syscalls.delete(mutation, {"storageId": storage_id})
    assert await storage_syscalls.get_url(mutation, {"storageId": storage_id}) is None
    await db.commit(mutation.tx)
    _, later = contexts(db, files, read_only=True)
    assert await storage_syscalls.get_url(later, {"storageId": storage_id}) is None


async def test_actions_store_and_get_base64_blobs_up_to_20_mib(
    db: Database, files: FileStorage
) -> None:
    ctx, _ = contexts(db, files)
    data = b"\x00\xffbytes"
    storage_id = await storage_syscalls.action_syscall(
        ctx,
        "1.0/storageStore",
        {
            "blob": base64.b64encode(data).decode(),
            "contentType": "image/png",
            "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
        },
    )
    got = await storage_syscalls.action_syscall(ctx, "1.0/storageGet", {"storageId": storage_id})
    assert got == {"blob": base64.b64encode(data).decode(), "contentType": "image/png"}
    await storage_syscalls.action_syscall(ctx, "1.0/storageDelete", {"storageId": storage_id})
    assert (
        await storage_syscalls.action_syscall(ctx, "1.0/storageGet", {"storageId": storage_id})
        is None
    )

    too_big = base64.b64encode(bytes(20 * 1024 * 1024 + 1)).decode()
    with pytest.raises(BadRequest) as e:
        await storage_syscalls.action_syscall(ctx, "1.0/storageStore", {"blob": too_big})
    assert e.value.code == "FileTooLarge" and "generateUploadUrl" in e.value.message


def test_file_contents_are_unknown_operations_outside_actions() -> None:
    error = storage_syscalls.unknown_operation("1.0/storageStore")
    assert (error.code, error.message) == (
        "UnknownAsyncOperation",
        "Unknown async operation 1.0/storageStore",
    )
    assert {"1.0/storageStore", "1.0/storageGet"} == storage_syscalls.ACTION_ONLY
