"""A finished transaction is freed by reference counting alone.

Query streams refer to their transaction and the transaction to its streams; unless the
pair is broken when the attempt ends, every transaction becomes cyclic garbage, and the
collector's pauses (tens of milliseconds with a few thousand of them) show in the tail
latency of every call.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.database.transaction import Transaction

from .queries import scan
from .test_transaction import insert


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_a_committed_mutation_with_a_query_is_freed_at_once(
    db: Database, no_collector: None
) -> None:
    await insert(db, "t", {"v": 1.0})
    seen: list[weakref.ref[Transaction]] = []

    async def transfer(tx: Transaction) -> None:
        seen.append(weakref.ref(tx))
        for doc in await tx.query(scan("t")).collect():
            await tx.patch(doc["_id"], {"v": doc["v"] + 1})

    await run_transaction(db, transfer)
    assert len(seen) == 1 and seen[0]() is None


async def test_an_attempt_that_failed_is_freed_once_its_error_is_handled(
    db: Database, no_collector: None
) -> None:
    await insert(db, "t", {"v": 1.0})
    seen: list[weakref.ref[Transaction]] = []

    async def failing(tx: Transaction) -> None:
        seen.append(weakref.ref(tx))
        await tx.query(scan("t")).collect()
        raise LookupError("the function's own error")

    with pytest.raises(LookupError):
        await run_transaction(db, failing)
    assert seen[0]() is None


async def test_a_query_transaction_is_freed_once_its_reads_are_taken(
    db: Database, no_collector: None
) -> None:
    await insert(db, "t", {"v": 1.0})
    tx = db.begin(read_only=True)
    await tx.query(scan("t")).collect()
    reads = tx.finalize_reads()
    ref = weakref.ref(tx)
    del tx
    assert ref() is None
    assert reads.intervals  # the read set outlives the transaction
