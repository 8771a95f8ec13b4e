"""The blob store protocol: named byte streams, written whole or not at all.

A store holds objects under keys (`a/b/c`, no `..`); Bayou's file storage puts each
deployment's objects under a key prefix of its own. Every operation streams: `put` takes
an async iterable of chunks and keeps at most a few MiB of it in memory, `get` returns an
async iterator over a byte range. `put` is atomic: after it fails — the chunks raised, the
disk filled up, the task was cancelled — nothing is stored under the key, and a leftover
of a crash (a temporary file, an unfinished S3 multipart upload) is removed by
`clean_incomplete`.

Errors are `BlobStoreError`s whose messages name the store (directory, or bucket and
endpoint) and what to do; a remote store retries transient failures a bounded number of
times and never waits forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from bayou.errors import BadRequest, BayouError

CHUNK = 1024 * 1024  # what `get` yields at a time (the last chunk may be shorter)


class BlobStoreError(BayouError):
    """The store failed or cannot be reached; the message names it and the fix."""

    status = 503
    default_code = "StorageUnavailable"


class BlobStoreFull(BlobStoreError):
    """No space left in the store (a full disk): nothing was stored."""

    status = 507
    default_code = "StorageFull"


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """An object in a store: its key, size in bytes and last write (Unix seconds)."""

    key: str
    size: int
    modified: float


class BlobStream(Protocol):
    """The bytes `[start, end)` of an object, as an async iterator of chunks."""

    size: int  # the whole object's size
    start: int
    end: int

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None:
        """Stop early and release the connection or file."""
        ...


class BlobStore(Protocol):
    """Local directory, S3-compatible bucket, or memory (`bayou.blobs.open_blob_store`)."""

    kind: str  # "local" | "s3" | "memory"
    description: str  # for people: "local directory /srv/bayou/storage/files"
    clock_skew_s: float  # how far the store's timestamps may be from this machine's clock

    async def open(self) -> None:
        """Check the store can be used (the directory is writable, the bucket answers)."""
        ...

    async def close(self) -> None: ...

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str | None = None
    ) -> int:
        """Store the chunks under `key` (replacing any object there); returns the size."""
        ...

    async def get(self, key: str, start: int = 0, end: int | None = None) -> BlobStream | None:
        """The bytes `[start, end)` of the object (`end` None: to its end), or None when
        there is no such object. `start` must be within the object."""
        ...

    async def head(self, key: str) -> BlobInfo | None:
        """The object's size and last write, or None when there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing one is not an error."""
        ...

    def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        """Every object whose key starts with `prefix`, in key order."""
        ...

    async def clean_incomplete(self, prefix: str, before: float) -> int:
        """Remove what interrupted writes under `prefix` left (temporary files, unfinished
        multipart uploads) that started before `before` (Unix seconds); returns how many."""
        ...


def check_key(key: str) -> str:
    """A key as stores accept it: relative, `/`-separated, without `.`/`..` segments."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise BadRequest(f"Invalid blob key {key!r}", code="InvalidBlobKey")
    return key


async def read_all(store: BlobStore, key: str) -> bytes | None:
    """The whole object (for small ones: markers, action reads), or None."""
    stream = await store.get(key)
    if stream is None:
        return None
    parts = [chunk async for chunk in stream]
    return b"".join(parts)


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    """`data` as the chunk stream `put` takes."""
    yield data
