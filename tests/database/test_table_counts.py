"""Table counts for the dashboard: exact for small tables right after a write, and never
holding a request up for long on a large one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bayou.database.database import Database
from bayou.database.table_counts import TableCounts
from bayou.database.transaction import Transaction
from bayou.model.system_tables import SYSTEM_TABLES
from bayou.persistence.sqlite import SqlitePersistence


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


async def _delete_one(db: Database) -> None:
    tx: Transaction = db.begin()
    doc = await tx.query(
        {"source": {"type": "FullTableScan", "tableName": "items", "order": "asc"}, "operators": []}
    ).next()
    assert doc is not None
    await tx.delete(doc["_id"])
    await db.commit(tx)


async def test_a_count_moves_with_the_write_log_without_walking_again(db: Database) -> None:
    counts = TableCounts(db)
    await _insert(db, 5)
    table = db.catalog.table("items")
    assert table is not None
    first_ts = db.latest_ts
    assert await counts.count_at(table, first_ts) == 5
    walks = 0
    walk = counts._walk

    async def counted_walk(info, ts):  # type: ignore[no-untyped-def]
        nonlocal walks
        walks += 1
        return await walk(info, ts)

    counts._walk = counted_walk  # type: ignore[method-assign]
    await _insert(db, 3)
    await _delete_one(db)
    assert await counts.count_at(table, db.latest_ts) == 7
    # Back in time too: the count at an older snapshot, from the newer one.
    assert await counts.count_at(table, first_ts) == 5
    assert walks == 0


async def test_a_count_walks_again_when_the_write_log_no_longer_reaches(db: Database) -> None:
    counts = TableCounts(db)
    await _insert(db, 2)
    table = db.catalog.table("items")
    assert table is not None
    assert await counts.count_at(table, db.latest_ts) == 2
    await _insert(db, 2)
    db.write_log.reset(db.latest_ts)  # as after a restart: history before it is unknown
    await _insert(db, 1)
    assert await counts.count_at(table, db.latest_ts) == 5
