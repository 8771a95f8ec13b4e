"""SQLite's WAL is checkpointed off the commit path, and stays bounded under writes that
never pause."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bayou.persistence import DocumentRevision, IndexEntry, SqlitePersistence, sqlite_checkpoint

T = b"T" * 16
IDX = b"I" * 16


def rows(commit: int, count: int) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """A commit's document, index and global rows, as the writer thread takes them."""
    ids = [(commit * 1000 + i).to_bytes(16, "big") for i in range(count)]
    docs = [(T, id, commit + 1, b'{"v":1}', None) for id in ids]
    index = [(IDX, id[8:], commit + 1, T, id) for id in ids]
    return docs, index, []


async def write(store: SqlitePersistence, commit: int, count: int) -> None:
    docs, index, _ = rows(commit, count)
    await store.write([DocumentRevision(*d) for d in docs], [IndexEntry(*e) for e in index])


@contextlib.asynccontextmanager
async def opened(path: Path, synchronous: str = "FULL") -> AsyncIterator[SqlitePersistence]:
    store = SqlitePersistence(path, synchronous=synchronous)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def wal_frames(path: Path) -> int:
    """The WAL's length in frames, as a checkpoint of another connection reports it."""
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]


async def test_commits_leave_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with opened(path) as store:
        writer = store._writer
        assert writer is not None
        assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        checkpointer = store._checkpointer
        assert checkpointer is not None
        size_before = path.stat().st_size
        for commit in range(40):
            await write(store, commit, 30)
        for _ in range(500):
            if checkpointer.checkpoints:
                break
            await asyncio.sleep(0.01)
        assert checkpointer.checkpoints >= 1
        assert path.stat().st_size > size_before  # the pages reached the database file


async def test_the_wal_stays_bounded_when_writes_never_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_checkpoint, "BACKGROUND_PAGES", 20)
    monkeypatch.setattr(sqlite_checkpoint, "INLINE_PAGES", 300)
    path = tmp_path / "db.sqlite3"
    commits = 3000
    async with opened(path, "NORMAL") as store:

        def write_without_pause() -> None:
            for commit in range(commits):
                store._write_sync(*rows(commit, 4))

        await asyncio.get_running_loop().run_in_executor(None, write_without_pause)
        # Written were far more frames than the bound: the WAL must have started over.
        assert commits * 2 > 10 * sqlite_checkpoint.INLINE_PAGES
        assert wal_frames(path) < 3 * sqlite_checkpoint.INLINE_PAGES


async def test_a_wal_the_thread_cannot_shorten_is_checkpointed_between_two_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_checkpoint, "BACKGROUND_PAGES", 5)
    monkeypatch.setattr(sqlite_checkpoint, "INLINE_PAGES", 1)  # every WAL counts as too long
    async with opened(tmp_path / "db.sqlite3", "NORMAL") as store:
        checkpointer = store._checkpointer
        assert checkpointer is not None
        for commit in range(200):
            await write(store, commit, 4)
            if checkpointer.inline_checkpoints:
                break
            await asyncio.sleep(0.005)
        assert checkpointer.inline_checkpoints >= 1


async def test_without_its_thread_the_writer_checkpoints_as_sqlite_would(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with opened(path, "NORMAL") as store:
        checkpointer = store._checkpointer
        assert checkpointer is not None
        checkpointer.stop()  # as if its connection could not be opened
        size_before = path.stat().st_size
        for commit in range(40):
            await write(store, commit, 30)
        assert checkpointer.checkpoints == 0
        assert path.stat().st_size > size_before  # the writer copied the pages itself
