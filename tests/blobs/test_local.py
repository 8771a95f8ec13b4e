"""The local directory store: durable renames, a full disk, leftovers of a crash."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from bayou.blobs import BlobStoreError, BlobStoreFull, LocalBlobStore, one_chunk, read_all
from bayou.blobs import local as local_module
from tests.blobs.test_stores import chunks


async def test_objects_are_files_under_the_root_and_temporaries_are_not_listed(
    tmp_path: Path,
) -> None:
    store = LocalBlobStore(tmp_path / "files")
    await store.open()
    await store.put("prefix-1/abc", one_chunk(b"data"))
    assert (tmp_path / "files" / "prefix-1" / "abc").read_bytes() == b"data"
    (tmp_path / "files" / ".tmp" / "upload-leftover").write_bytes(b"x")
    assert [i.key async for i in store.list("")] == ["prefix-1/abc"]


async def test_a_full_disk_fails_the_put_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "files")
    await store.open()
    written = 0

    def fill_up(fd: int, data: bytes) -> None:
        nonlocal written
        written += len(data)
        if written > 3 * 1024 * 1024:
            raise OSError(errno.ENOSPC, "No space left on device")
        os.write(fd, data)

    monkeypatch.setattr(local_module, "_write_all", fill_up)
    with pytest.raises(BlobStoreFull) as e:
        await store.put("k", chunks(8 * 1024 * 1024))
    assert "is full (No space left on device)" in e.value.message
    assert str(tmp_path / "files") in e.value.message and e.value.status == 507
    assert list((tmp_path / "files" / ".tmp").iterdir()) == []
    assert await store.head("k") is None


async def test_an_unwritable_directory_is_refused_at_open(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    with pytest.raises(BlobStoreError) as e:
        await LocalBlobStore(blocker / "files").open()
    assert "is not writable" in e.value.message and "DATA_DIR" in e.value.message


async def test_clean_incomplete_removes_old_temporaries_only(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "files")
    await store.open()
    tmp = tmp_path / "files" / ".tmp"
    old, new = tmp / "upload-old", tmp / "upload-new"
    old.write_bytes(b"a crash left me")
    new.write_bytes(b"an upload in flight")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert await store.clean_incomplete("", time.time() - 3600) == 1
    assert not old.exists() and new.exists()


async def test_reading_a_key_with_dot_segments_is_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "files")
    await store.open()
    (tmp_path / "secret").write_bytes(b"x")
    with pytest.raises(Exception, match="Invalid blob key"):
        await read_all(store, "../secret")
