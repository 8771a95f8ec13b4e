"""A blob store in memory, for tests and the shipped test harness: the same behaviour as
the others (atomic puts, ranges, listing), nothing kept after the process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from bayou.blobs.base import CHUNK, BlobInfo, check_key


@dataclass(slots=True)
class _Object:
    data: bytes
    content_type: str | None
    modified: float


class MemoryBlobStore:
    """Objects in a dict; `put` stores only once every chunk has arrived."""

    kind = "memory"
    clock_skew_s = 0.0
    description = "memory (gone when the server stops)"

    def __init__(self) -> None:
        self.objects: dict[str, _Object] = {}

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str | None = None
    ) -> int:
        check_key(key)
        buffer = bytearray()
        async for chunk in chunks:
            buffer += chunk
        self.objects[key] = _Object(bytes(buffer), content_type, time.time())
        return len(buffer)

    async def get(self, key: str, start: int = 0, end: int | None = None) -> _BytesStream | None:
        found = self.objects.get(check_key(key))
        if found is None:
            return None
        size = len(found.data)
        stop = size if end is None else min(end, size)
        return _BytesStream(found.data, size, min(start, stop), stop)

    async def head(self, key: str) -> BlobInfo | None:
        found = self.objects.get(check_key(key))
        return None if found is None else BlobInfo(key, len(found.data), found.modified)

    async def delete(self, key: str) -> None:
        self.objects.pop(check_key(key), None)

    async def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        for key in sorted(self.objects):
            if key.startswith(prefix):
                found = self.objects[key]
                yield BlobInfo(key, len(found.data), found.modified)

    async def clean_incomplete(self, prefix: str, before: float) -> int:
        return 0  # a put keeps nothing until it is complete


class _BytesStream:
    def __init__(self, data: bytes, size: int, start: int, end: int) -> None:
        self._data = data
        self.size = size
        self.start = start
        self.end = end

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for position in range(self.start, self.end, CHUNK):
            yield self._data[position : min(position + CHUNK, self.end)]

    async def aclose(self) -> None:
        pass
