"""Optimistic concurrency: exactly the conflicting commits are rejected; retries work."""

from __future__ import annotations

import asyncio

import pytest

from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.errors import OccError
from bayou.values import ids

from .queries import field, index, lit, scan, where
from .test_transaction import insert

SCHEMA_BY_N = {
    "tables": [
        {
            "tableName": "t",
            "indexes": [{"indexDescriptor": "by_n", "fields": ["n"]}],
            "documentType": None,
        }
    ],
    "schemaValidation": True,
}


async def test_read_modify_write_race_rejects_the_second_commit(db: Database) -> None:
    id = await insert(db, "accounts", {"balance": 10.0})
    a, b = db.begin(), db.begin()
    for tx in (a, b):
        doc = await tx.get(id)
        await tx.patch(id, {"balance": doc["balance"] + 1})
    await db.commit(a)
    with pytest.raises(OccError) as e:
        await db.commit(b)
    assert e.value.table == "accounts"
    assert (await db.begin().get(id))["balance"] == 11.0


async def test_writes_to_different_documents_do_not_conflict(db: Database) -> None:
    x = await insert(db, "accounts", {"balance": 1.0})
    y = await insert(db, "accounts", {"balance": 1.0})
    a, b = db.begin(), db.begin()
    await a.patch(x, {"balance": 2.0})
    await b.patch(y, {"balance": 2.0})
    await db.commit(a)
    await db.commit(b)


async def test_blind_write_after_read_of_other_doc_is_serializable(db: Database) -> None:
    # Write skew: a reads x writes y, b reads y writes x. Snapshot isolation would allow both.
    x = await insert(db, "t", {"v": 0.0})
    y = await insert(db, "t", {"v": 0.0})
    a, b = db.begin(), db.begin()
    await a.get(x)
    await a.patch(y, {"v": 1.0})
    await b.get(y)
    await b.patch(x, {"v": 1.0})
    await db.commit(a)
    with pytest.raises(OccError):
        await db.commit(b)


async def test_full_scan_conflicts_with_an_insert_into_the_table(db: Database) -> None:
    await insert(db, "t", {"v": 0.0})
    reader = db.begin()
    await reader.query(scan("t")).collect()
    await reader.insert("log", {"seen": 1.0})
    await insert(db, "t", {"v": 1.0})
    with pytest.raises(OccError):
        await db.commit(reader)


async def test_take_reads_only_the_prefix_it_consumed(db: Database) -> None:
    from bayou.database.schema_change import apply_schema

    await apply_schema(db, SCHEMA_BY_N)
    for n in (1.0, 2.0, 3.0):
        await insert(db, "t", {"n": n})
    reader = db.begin()
    first = await reader.query(index("t.by_n", [], "asc", {"limit": 1})).collect()
    assert [d["n"] for d in first] == [1.0]
    await reader.insert("log", {"x": 1.0})
    await insert(db, "t", {"n": 10.0})  # beyond the consumed prefix: no conflict
    await db.commit(reader)

    reader = db.begin()
    await reader.query(index("t.by_n", [], "asc", {"limit": 1})).collect()
    await reader.insert("log", {"x": 1.0})
    await insert(db, "t", {"n": 0.5})  # inside it: conflict
    with pytest.raises(OccError):
        await db.commit(reader)


async def test_filtered_out_rows_still_count_as_read(db: Database) -> None:
    a = await insert(db, "t", {"v": 1.0})
    await insert(db, "t", {"v": 2.0})
    reader = db.begin()
    got = await reader.query(scan("t", "asc", where({"$eq": [field("v"), lit(2.0)]}))).collect()
    assert len(got) == 1
    await reader.insert("log", {"x": 1.0})
    tx = db.begin()
    await tx.patch(a, {"w": 1.0})  # a was filtered out, but it was read
    await db.commit(tx)
    with pytest.raises(OccError):
        await db.commit(reader)


async def test_concurrent_creation_of_the_same_table_conflicts(db: Database) -> None:
    a, b = db.begin(), db.begin()
    await a.insert("fresh", {"who": "a"})
    await b.insert("fresh", {"who": "b"})
    await db.commit(a)
    with pytest.raises(OccError):
        await db.commit(b)


async def test_concurrent_creation_of_different_tables_gets_distinct_numbers(db: Database) -> None:
    async def create(name: str) -> None:
        await run_transaction(db, lambda tx: tx.insert(name, {"x": 1.0}))

    await asyncio.gather(create("alpha"), create("beta"), create("gamma"))
    numbers = {db.catalog.table(n).number for n in ("alpha", "beta", "gamma")}
    assert len(numbers) == 3


async def test_run_transaction_retries_until_it_wins(db: Database) -> None:
    id = await insert(db, "counter", {"n": 0.0})

    async def increment(tx) -> None:
        doc = await tx.get(id)
        await asyncio.sleep(0)  # let the other increments interleave
        await tx.patch(id, {"n": doc["n"] + 1})

    results = await asyncio.gather(
        *(run_transaction(db, increment, retries=50) for _ in range(20)), return_exceptions=True
    )
    assert all(not isinstance(r, BaseException) for r in results)
    assert (await db.begin().get(id))["n"] == 20.0


async def test_retries_give_up_with_convex_occ_error(db: Database) -> None:
    id = await insert(db, "counter", {"n": 0.0})
    calls = 0

    async def always_loses(tx) -> None:
        nonlocal calls
        calls += 1
        await tx.get(id)
        await tx.insert("log", {"x": 1.0})
        await insert(db, "counter2", {"x": 1.0})
        other = db.begin()
        await other.patch(id, {"n": float(calls)})
        await db.commit(other)

    with pytest.raises(OccError) as e:
        await run_transaction(db, always_loses, retries=4)
    assert e.value.code == "OptimisticConcurrencyControlFailure"
    assert calls == 5
    assert '"counter" table' in e.value.message


async def test_a_transaction_without_writes_commits_at_its_snapshot(db: Database) -> None:
    await insert(db, "t", {"v": 1.0})
    tx = db.begin()
    await tx.query(scan("t")).collect()
    assert await db.commit(tx) == tx.begin_ts


async def test_a_conflict_marks_the_documents_by_id_key_hot(db: Database) -> None:
    """A shard read through an index and then patched by id: whichever of its index
    entries the conflict came through, the hot key is the document's `by_id` key — the one
    a retry's point read checks against its admission lock."""
    from bayou.database.schema_change import apply_schema

    await apply_schema(db, SCHEMA_BY_N)
    id = await insert(db, "t", {"n": 1.0, "value": 0.0})
    a, b = db.begin(), db.begin()
    for tx in (a, b):
        (doc,) = await tx.query(index("t.by_n", [("Eq", "n", 1.0)])).collect()
        await tx.patch(doc["_id"], {"value": doc["value"] + 1})
    await db.commit(a)
    with pytest.raises(OccError) as e:
        await db.commit(b)
    table = db.catalog.table("t")
    assert e.value.conflict_key == (table.by_id.id, ids.decode_id(id)[1])
    assert db.hot_keys.is_hot(e.value.conflict_key)


async def test_a_hot_document_met_through_an_index_restarts_the_attempt_at_once(
    db: Database,
) -> None:
    """The keynote transfer reads both accounts by index, then patches them: an attempt
    that meets a hot account through the index restarts there — before its second read
    and its writes run in vain — and its retry holds that account's admission lock."""
    from bayou.database.schema_change import apply_schema

    await apply_schema(db, SCHEMA_BY_N)
    hot = await insert(db, "t", {"n": 1.0, "value": 0.0})
    await insert(db, "t", {"n": 2.0, "value": 0.0})
    table = db.catalog.table("t")
    hot_key = (table.by_id.id, ids.decode_id(hot)[1])
    db.hot_keys.mark(hot_key)
    attempts: list[tuple[frozenset, list[float]]] = []

    async def transfer(tx):
        read: list[float] = []
        attempts.append((tx.admission.held, read))
        for n in (1.0, 2.0):
            (doc,) = await tx.query(index("t.by_n", [("Eq", "n", n)])).collect()
            read.append(n)
            await tx.patch(doc["_id"], {"value": doc["value"] + 1})

    await run_transaction(db, transfer)
    assert attempts == [(frozenset(), []), (frozenset({hot_key}), [1.0, 2.0])]
    assert (await db.begin().get(hot))["value"] == 1.0


async def test_a_hot_key_stays_hot_while_a_queue_waits_on_its_lock() -> None:
    """Its time to live counts from the last release that left waiters behind, not from
    the conflict that made it hot: otherwise newcomers would stop queueing while the queue
    still commits, and conflict with it."""
    from bayou.database.contention import HotKeys

    hot = HotKeys(ttl_s=0.05)
    key = (b"i", b"k")
    hot.mark(key)
    held = await hot.acquire([key])
    waiter = asyncio.ensure_future(hot.acquire([key]))
    await asyncio.sleep(0.08)  # longer than the time to live
    assert not hot.is_hot(key)  # nobody released yet: it expired
    hot.mark(key)
    await asyncio.sleep(0.08)
    hot.release(held)  # the waiter is still queued at this release: hot again
    assert hot.is_hot(key)
    hot.release(await waiter)  # no one waits any more: it cools down after the ttl
    await asyncio.sleep(0.08)
    assert not hot.is_hot(key)
