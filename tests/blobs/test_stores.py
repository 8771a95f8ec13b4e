"""What every blob store does the same: streamed, atomic puts; ranges; listing; deletes."""

from __future__ import annotations

import asyncio
import hashlib
import time
import tracemalloc
from collections.abc import AsyncIterator

import pytest

from bayou.blobs import BlobStore, read_all


async def chunks(total: int, size: int = 64 * 1024, seed: int = 0) -> AsyncIterator[bytes]:
    """`total` bytes of a repeatable pattern, `size` at a time (as an upload arrives)."""
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield bytes((seed + sent + i) % 251 for i in range(min(n, 251))) * (n // 251) + bytes(
            (seed + sent + (n // 251) * 251 + i) % 251 for i in range(n % 251)
        )
        sent += n


async def collected(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    stream = await store.get(key, start, end)
    assert stream is not None
    return b"".join([c async for c in stream])


async def test_a_put_streams_in_and_a_get_streams_out_the_same_bytes(blob_store: BlobStore) -> None:
    total = 20 * 1024 * 1024 + 123  # several S3 parts, a short last one
    expected = hashlib.sha256()
    async for chunk in chunks(total):
        expected.update(chunk)
    size = await blob_store.put("p/big", chunks(total), content_type="application/octet-stream")
    assert size == total
    stream = await blob_store.get("p/big")
    assert stream is not None and (stream.size, stream.start, stream.end) == (total, 0, total)
    got = hashlib.sha256()
    parts = 0
    async for chunk in stream:
        got.update(chunk)
        parts += 1
        assert len(chunk) <= 1024 * 1024  # streamed, never whole
    assert got.hexdigest() == expected.hexdigest() and parts >= 20


async def test_byte_ranges_are_served_and_clamped_to_the_object(blob_store: BlobStore) -> None:
    await blob_store.put("r", chunks(1000))
    whole = await collected(blob_store, "r")
    assert await collected(blob_store, "r", 10, 20) == whole[10:20]
    assert await collected(blob_store, "r", 990) == whole[990:]
    assert await collected(blob_store, "r", 995, 5000) == whole[995:]
    assert await collected(blob_store, "r", 50, 50) == b""
    stream = await blob_store.get("r", 10, 20)
    assert stream is not None and (stream.size, stream.start, stream.end) == (1000, 10, 20)
    await stream.aclose()


async def test_missing_objects_are_none_and_deleting_twice_is_fine(blob_store: BlobStore) -> None:
    assert await blob_store.get("nope") is None
    assert await blob_store.head("nope") is None
    await blob_store.put("d", chunks(10))
    info = await blob_store.head("d")
    assert info is not None and info.size == 10 and abs(info.modified - time.time()) < 120
    await blob_store.delete("d")
    await blob_store.delete("d")
    assert await blob_store.head("d") is None


async def test_an_empty_object_is_an_object(blob_store: BlobStore) -> None:
    await blob_store.put("empty", chunks(0))
    assert await read_all(blob_store, "empty") == b""
    info = await blob_store.head("empty")
    assert info is not None and info.size == 0


async def test_a_put_replaces_and_listing_follows_the_prefix(blob_store: BlobStore) -> None:
    for key in ("a/2", "a/1", "b/1", "a/1"):
        await blob_store.put(key, chunks(5, seed=len(key)))
    await blob_store.put("a/1", chunks(7))
    listed = [(i.key, i.size) async for i in blob_store.list("a/")]
    assert listed == [("a/1", 7), ("a/2", 5)]
    assert [i.key async for i in blob_store.list("")] == ["a/1", "a/2", "b/1"]


async def test_a_put_whose_chunks_fail_stores_nothing(blob_store: BlobStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        async for chunk in chunks(12 * 1024 * 1024):  # past the first S3 part
            yield chunk
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await blob_store.put("half", broken())
    assert await blob_store.head("half") is None
    assert [i.key async for i in blob_store.list("")] == []


async def test_a_cancelled_put_stores_nothing(blob_store: BlobStore) -> None:
    started = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        async for chunk in chunks(10 * 1024 * 1024, size=1024 * 1024):
            yield chunk
        started.set()
        await asyncio.sleep(30)
        yield b"never"

    task = asyncio.ensure_future(blob_store.put("cancelled", slow()))
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await blob_store.head("cancelled") is None
    assert await blob_store.clean_incomplete("", time.time() + 60) == 0  # nothing left over


@pytest.mark.parametrize("kind", ["put", "get"])
async def test_memory_stays_flat_however_big_the_object(blob_store: BlobStore, kind: str) -> None:
    """64 MiB through the store: the store holds a bounded few MiB of it at any time."""
    total = 64 * 1024 * 1024
    if kind == "get":
        await blob_store.put("m", chunks(total, size=1024 * 1024))
    if blob_store.kind == "memory":
        pytest.skip("the memory store keeps objects in memory by design")
    tracemalloc.start()
    try:
        if kind == "put":
            await blob_store.put("m", chunks(total, size=1024 * 1024))
        else:
            async for _ in await blob_store.get("m"):  # type: ignore[union-attr]
                pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 56 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 64 MiB object"
