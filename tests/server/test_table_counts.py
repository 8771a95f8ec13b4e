"""Table counts for the dashboard: exact for small tables right after a write, and never
holding a request up for long on a large one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bayou.database.database import Database
from bayou.database.transaction import Transaction
from bayou.model.system_tables import SYSTEM_TABLES
from bayou.persistence.sqlite import SqlitePersistence
from bayou.server.table_counts import TableCounts


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(
        SqlitePersistence(tmp_path / "db.sqlite3"),
        cursor_key=b"k" * 32,
        system_tables=SYSTEM_TABLES,
    )
    try:
        yield database
    finally:
        await database.close()


async def _insert(db: Database, n: int) -> None:
    tx: Transaction = db.begin()
    for i in range(n):
        await tx.insert("items", {"i": float(i)})
    await db.commit(tx)


async def test_a_small_table_is_counted_again_after_each_write(db: Database) -> None:
    counts = TableCounts(db)
    await _insert(db, 3)
    table = db.catalog.table("items")
    assert table is not None
    assert await counts.count(table) == 3
    await _insert(db, 2)
    assert await counts.count(table) == 5


async def test_a_slow_count_answers_at_once_and_finishes_behind(db: Database) -> None:
    counts = TableCounts(db)
    await _insert(db, 4)
    table = db.catalog.table("items")
    assert table is not None
    release = asyncio.Event()
    walk = counts._walk

    async def slow_walk(info, ts):  # type: ignore[no-untyped-def]
        await release.wait()
        return await walk(info, ts)

    counts._walk = slow_walk  # type: ignore[method-assign]
    assert await counts.count(table, wait_s=0.01) is None
    release.set()
    for _ in range(100):
        if await counts.count(table, wait_s=0.01) == 4:
            break
        await asyncio.sleep(0.01)
    assert await counts.count(table) == 4
