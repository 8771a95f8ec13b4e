"""Running a transaction function with optimistic-concurrency retries.

Convex re-runs a conflicted mutation up to 4 times with 100 ms – 2 s backoff. Sleeping that
long is what collapses its throughput under contention, so Bayou retries differently: the
committer tells the loser which commit beat it; the retry waits only until that commit is
published (usually already) and runs again on a snapshot that contains it, with a short
jittered pause from the second retry on so that hot-spot writers spread out.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bayou.database.database import Database
from bayou.database.transaction import Transaction
from bayou.errors import OccError

T = TypeVar("T")
MUTATION_RETRIES = 4


def occ_failure(err: OccError, attempts: int) -> OccError:
    table = f'the "{err.table}" table' if err.table else "the tables it used"
    return OccError(
        f"Documents read from or written to {table} changed while this mutation was being run "
        f"and on every subsequent retry ({attempts} attempts). Another call is probably changing "
        "the same documents: read fewer documents (use an index), or spread writes over more "
        "documents.",
        table=err.table,
        conflict_ts=err.conflict_ts,
    )


async def run_transaction(
    db: Database,
    fn: Callable[[Transaction], Awaitable[T]],
    *,
    retries: int = MUTATION_RETRIES,
    namespace: str = "",
) -> tuple[T, int]:
    """Run `fn` in a fresh transaction and commit; retry on conflicts. Returns (result, ts).

    `fn` must be safe to re-run: everything it does outside the transaction happens once
    per attempt. An exception from `fn` discards the transaction and is not retried.
    """
    attempt = 0
    while True:
        tx = db.begin(namespace=namespace)
        result = await fn(tx)
        try:
            ts = await db.commit(tx)
        except OccError as e:
            attempt += 1
            if attempt > retries:
                raise occ_failure(e, attempt) from None
            if e.conflict_ts is not None:
                await db.wait_for_ts(e.conflict_ts, timeout=5)
            if attempt > 1:
                await asyncio.sleep(random.uniform(0, 0.002 * 2**attempt))
            continue
        return result, ts
