"""Hot locks hand on at sequencing: the next holder reads through the in-flight batch.

Every test holds the committer's write of the first batch at a gate, so what the next lock
holder sees (and when its outcome is released) is observed while that batch is not durable.
"""

from __future__ import annotations

import asyncio

import pytest

from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.errors import BayouError
from bayou.values import ids

from .queries import index
from .test_occ import SCHEMA_BY_N
from .test_transaction import insert


class WriteGate:
    """Holds the persistence's writes until opened; can fail the first one."""

    def __init__(self, db: Database) -> None:
        self._write = db.persistence.write
        self.opened = asyncio.Event()
        self.waiting = asyncio.Event()
        self.fail_next = False
        db.persistence.write = self.write  # type: ignore[method-assign]

    async def write(self, *args, **kwargs):
        self.waiting.set()
        await self.opened.wait()
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk full")
        return await self._write(*args, **kwargs)


async def hot_account(db: Database, value: float = 0.0) -> tuple[str, tuple[bytes, bytes]]:
    """A document whose by_id key is hot, so that every mutation of it takes its lock."""
    id = await insert(db, "t", {"n": 1.0, "value": value})
    table = db.catalog.table("t")
    key = (table.by_id.id, ids.decode_id(id)[1])
    db.hot_keys.mark(key)
    return id, key


async def settled(*tasks: asyncio.Future) -> None:
    """Let everything runnable run (the tasks stay pending if they wait on the gate)."""
    for _ in range(50):
        await asyncio.sleep(0)
        if all(t.done() for t in tasks):
            return


async def test_the_next_holder_reads_the_sequenced_commit_before_it_is_durable(
    db: Database,
) -> None:
    from bayou.database.schema_change import apply_schema

    await apply_schema(db, SCHEMA_BY_N)
    id, key = await hot_account(db)
    gate = WriteGate(db)
    seen: list[tuple[str, float, bool]] = []

    def increment(name: str):
        async def fn(tx):
            doc = await tx.get(id)
            if tx.admission.held:  # the attempt that holds the lock (the first restarts)
                seen.append((name, doc["value"], db.latest_ts < tx.begin_ts))
            await tx.patch(id, {"value": doc["value"] + 1})

        return fn

    first = asyncio.ensure_future(run_transaction(db, increment("first")))
    await gate.waiting.wait()  # the first commit is sequenced and being written
    second = asyncio.ensure_future(run_transaction(db, increment("second")))
    await settled(first, second)
    # The second holder ran at once, on the first one's write, though it is not durable.
    assert seen == [("first", 0.0, False), ("second", 1.0, True)]
    assert not first.done() and not second.done()
    gate.opened.set()
    (_, first_ts), (_, second_ts) = await asyncio.gather(first, second)
    assert second_ts > first_ts
    assert (await db.begin().get(id))["value"] == 2.0
    assert not db.hot_keys._locks.get(key) or not db.hot_keys._locks[key].locked()


async def test_a_failed_batch_voids_the_attempts_that_read_through_it(db: Database) -> None:
    """Its write fails: its own caller gets the error; the next holder, which read its
    value and then threw because of it, is not told that error — it never saw a durable
    state — but retried against what is durable, and succeeds."""
    id, _ = await hot_account(db)
    gate = WriteGate(db)
    gate.fail_next = True
    seen: list[float] = []

    async def increment(tx):
        doc = await tx.get(id)
        await tx.patch(id, {"value": doc["value"] + 1})

    async def at_most_one(tx):
        doc = await tx.get(id)
        if tx.admission.held:
            seen.append(doc["value"])
        if doc["value"] >= 1:
            raise ValueError("already incremented")
        await tx.patch(id, {"value": doc["value"] + 10})

    first = asyncio.ensure_future(run_transaction(db, increment))
    await gate.waiting.wait()
    second = asyncio.ensure_future(run_transaction(db, at_most_one))
    await settled(first, second)
    assert seen == [1.0]
    gate.opened.set()
    with pytest.raises(BayouError, match="disk full"):
        await first
    await second
    assert seen == [1.0, 0.0]
    assert (await db.begin().get(id))["value"] == 10.0


async def test_a_read_only_attempt_returns_only_once_what_it_read_is_durable(
    db: Database,
) -> None:
    id, _ = await hot_account(db)
    gate = WriteGate(db)

    async def increment(tx):
        doc = await tx.get(id)
        await tx.patch(id, {"value": doc["value"] + 1})

    async def read(tx):
        return (await tx.get(id))["value"]

    first = asyncio.ensure_future(run_transaction(db, increment))
    await gate.waiting.wait()
    reader = asyncio.ensure_future(run_transaction(db, read))
    await settled(first, reader)
    assert not reader.done()  # it read 1.0 through the batch: not an answer yet
    gate.opened.set()
    (_, first_ts), (value, reader_ts) = await asyncio.gather(first, reader)
    assert value == 1.0 and reader_ts == first_ts


async def test_an_index_range_the_batch_changed_waits_for_it(db: Database) -> None:
    """The batch inserted a document into the range: its keys are not in storage yet, so
    the read waits for the batch and then sees it."""
    from bayou.database.schema_change import apply_schema

    await apply_schema(db, SCHEMA_BY_N)
    id, _ = await hot_account(db)
    gate = WriteGate(db)

    async def insert_beside(tx):
        doc = await tx.get(id)
        await tx.patch(id, {"value": doc["value"] + 1})
        await tx.insert("t", {"n": 5.0, "value": 0.0})

    async def count_fives(tx):
        doc = await tx.get(id)
        fives = await tx.query(index("t.by_n", [("Eq", "n", 5.0)])).collect()
        ones = await tx.query(index("t.by_n", [("Eq", "n", 1.0)])).collect()
        await tx.patch(id, {"value": doc["value"] + 1})
        return len(fives), [d["value"] for d in ones]

    first = asyncio.ensure_future(run_transaction(db, insert_beside))
    await gate.waiting.wait()
    second = asyncio.ensure_future(run_transaction(db, count_fives))
    await settled(first, second)
    assert not second.done()
    gate.opened.set()
    await first
    (fives, ones), _ = await second
    # The unmoved range (n = 1) was read through the batch: its document as the batch left it.
    assert fives == 1 and ones == [1.0]
