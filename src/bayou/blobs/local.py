"""A blob store in a local directory (the embedded default: `<data dir>/storage/files`).

An object is the file `<root>/<key>`. `put` writes a temporary file in `<root>/.tmp`,
4 MiB at a time off the event loop, syncs it and renames it into place (then syncs the
directory), so a reader never sees a partial file and a stored object survives a power
cut. Anything that interrupts the write — a full disk, the client going away, a crash —
leaves at most a temporary file, which is removed at once, or by `clean_incomplete` at
the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable
from pathlib import Path

from bayou.blobs.base import CHUNK, BlobInfo, BlobStoreError, BlobStoreFull, check_key

TMP = ".tmp"
WRITE_BATCH = 4 * 1024 * 1024  # bytes per thread hop while writing
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class LocalBlobStore:
    """Objects as files under `root`."""

    kind = "local"
    clock_skew_s = 0.0

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.description = f"local directory {self.root}"

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        try:
            (self.root / TMP).mkdir(parents=True, exist_ok=True, mode=0o700)
            probe = self.root / TMP / f"probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise BlobStoreError(
                f"The file store, {self.description}, is not writable ({e.strerror or e}): "
                "give --data-dir / DATA_DIR a directory this user may write to, or use S3 "
                "(S3_STORAGE_FILES_BUCKET).",
                code="StorageUnavailable",
            ) from None

    async def close(self) -> None:
        pass

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    # -- writing ---------------------------------------------------------------------

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str | None = None
    ) -> int:
        target = self.path(key)
        writer = _TempFile(self.root / TMP, target, self._error)
        try:
            await writer.create()
            parts: list[bytes] = []
            buffered = 0
            async for chunk in chunks:
                parts.append(chunk)
                buffered += len(chunk)
                if buffered >= WRITE_BATCH:
                    await writer.write(b"".join(parts))
                    parts, buffered = [], 0
            if parts:
                await writer.write(b"".join(parts))
            await writer.finish()
        except BaseException:  # a full disk, failed chunks, a caller who gave up: no trace
            await writer.discard()
            raise
        return writer.size

    def _error(self, e: OSError, verb: str) -> BlobStoreError:
        if e.errno in _FULL:
            return BlobStoreFull(
                f"The file store, {self.description}, is full ({e.strerror}): free some space "
                "or give it a bigger disk; nothing was stored."
            )
        return BlobStoreError(
            f"Cannot {verb} in the file store, {self.description} ({e.strerror or e})."
        )

    # -- reading ---------------------------------------------------------------------

    async def get(self, key: str, start: int = 0, end: int | None = None) -> _FileStream | None:
        path = self.path(key)
        try:
            file = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            return None
        except OSError as e:
            raise self._error(e, "read") from None
        size = os.fstat(file.fileno()).st_size
        stop = size if end is None else min(end, size)
        return _FileStream(file, size, min(start, stop), stop)

    async def head(self, key: str) -> BlobInfo | None:
        try:
            st = await asyncio.to_thread(os.stat, self.path(key))
        except FileNotFoundError:
            return None
        except OSError as e:
            raise self._error(e, "read") from None
        return BlobInfo(key, st.st_size, st.st_mtime)

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self.path(key).unlink, True)
        except OSError as e:
            raise self._error(e, "delete") from None

    async def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        for info in await asyncio.to_thread(self._list, prefix):
            yield info

    def _list(self, prefix: str) -> list[BlobInfo]:
        found = []
        for directory, dirs, files in os.walk(self.root):
            if Path(directory) == self.root:
                dirs[:] = [d for d in dirs if d != TMP]
            for name in files:
                path = Path(directory) / name
                key = path.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    st = path.stat()
                    found.append(BlobInfo(key, st.st_size, st.st_mtime))
        return sorted(found, key=lambda info: info.key)

    async def clean_incomplete(self, prefix: str, before: float) -> int:
        # One directory per deployment's data directory: every temporary file is ours.
        return await asyncio.to_thread(self._clean, before)

    def _clean(self, before: float) -> int:
        removed = 0
        tmp = self.root / TMP
        for path in tmp.glob("*") if tmp.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < before:
                    path.unlink()
                    removed += 1
        return removed


class _TempFile:
    """A temporary file written from the event loop one thread hop per buffer; every
    write is awaited to its end, even when the task is cancelled, before the file is
    closed or removed."""

    def __init__(
        self, directory: Path, target: Path, error: Callable[[OSError, str], BlobStoreError]
    ) -> None:
        self.directory = directory
        self.target = target
        self._error = error
        self.fd = -1
        self.path = ""
        self.size = 0
        self.renamed = False
        self._pending: asyncio.Future[None] | None = None

    async def create(self) -> None:
        try:
            self.fd, self.path = await asyncio.to_thread(
                tempfile.mkstemp, prefix="upload-", dir=self.directory
            )
        except OSError as e:
            raise self._error(e, "write") from None

    async def write(self, data: bytes) -> None:
        await self._run(_write_all, self.fd, data)
        self.size += len(data)

    async def finish(self) -> None:
        await self._run(self._finish)

    async def _run(self, fn, *args) -> None:  # type: ignore[no-untyped-def]
        self._pending = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        try:
            await asyncio.shield(self._pending)
        except OSError as e:
            raise self._error(e, "write") from None

    def _finish(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1
        self.target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, self.target)
        self.path = ""
        self.renamed = True
        _sync_directory(self.target.parent)

    async def discard(self) -> None:
        """Remove whatever this write left: the temporary file, or the object itself
        when the task was cancelled while the rename went through."""
        if self._pending is not None and not self._pending.done():
            await asyncio.wait({self._pending})
        await asyncio.to_thread(self._discard)

    def _discard(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        if self.path:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.path = ""
        if self.renamed:
            with contextlib.suppress(OSError):
                os.unlink(self.target)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _FileStream:
    """Bytes `[start, end)` of an open file, read 1 MiB at a time off the event loop."""

    def __init__(self, file, size: int, start: int, end: int) -> None:  # type: ignore[no-untyped-def]
        self._file = file
        self.size = size
        self.start = start
        self.end = end

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            position = self.start
            while position < self.end:
                want = min(CHUNK, self.end - position)
                chunk = await asyncio.to_thread(os.pread, self._file.fileno(), want, position)
                if not chunk:  # truncated under us
                    break
                position += len(chunk)
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        self._file.close()
