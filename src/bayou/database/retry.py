"""Running a transaction function with optimistic-concurrency retries.

Convex re-runs a conflicted mutation up to 4 times with 100 ms – 2 s backoff; sleeping
like that is what collapses its throughput under contention. Bayou retries differently:

- the committer says which commit and which key a loser lost on; the retry waits only
  until that commit is published (usually it already is);
- the key becomes "hot" and the retry takes its admission lock (`contention.py`), so
  mutations over the same hot document run one after another instead of colliding again;
- a transaction that is about to read a hot key it does not hold restarts immediately —
  before its work is wasted — and takes the lock on the way back in;
- a lock passes to the next holder as soon as the committer has sequenced the holder's
  commit, and the next holder reads through that batch while it is being made durable
  (`in_flight.py`): a hot document's queue moves at the pace of running the functions, not
  of running them and syncing each commit in turn.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from bayou.database.contention import Admission, Key, RestartTransaction
from bayou.database.database import Database
from bayou.database.transaction import Transaction
from bayou.errors import OccError

T = TypeVar("T")
MUTATION_RETRIES = 4
VOID_ATTEMPTS = 4  # RetryAttempt re-runs allowed a transaction (each changes how it runs)


class RetryAttempt(Exception):
    """Raised by a transaction function: this attempt is void for a reason of its own (a
    runtime's deferred write failed) and it has changed how the next one runs; run it
    again at once, not counted as a conflict."""


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
    conflicts = 0
    void_attempts = 0
    needed: set[Key] = set()
    while True:
        held = await db.hot_keys.acquire(needed) if needed else []
        tx: Transaction | None = None
        try:
            tx = db.begin(namespace=namespace, through_in_flight=bool(held))
            tx.admission = Admission(db.hot_keys, held)
            if held:
                tx.on_sequenced = lambda held=held: _hand_on(db, held)
            try:
                try:
                    result = await fn(tx)
                except Exception:
                    # However the restart surfaced (caught by user code, turned into a
                    # function error by a runtime), the attempt is void: restart it.
                    if tx.restart_key is None:
                        # An error may come from what it read: only once that is durable
                        # is it the mutation's outcome (else the attempt is a conflict).
                        await tx.settle()
                        raise
                if tx.restart_key is not None:
                    raise RestartTransaction(tx.restart_key)
                ts = await db.commit(tx)
            except RetryAttempt:
                void_attempts += 1
                if void_attempts > VOID_ATTEMPTS:
                    raise
                continue
            except RestartTransaction as restart:
                if tx.restart_key is None or restart.key in needed:
                    raise
                needed.add(restart.key)
                continue
            except OccError as e:
                conflicts += 1
                if conflicts > retries:
                    raise occ_failure(e, conflicts) from None
                if e.conflict_key is not None:
                    needed.add(e.conflict_key)
                if e.conflict_ts is not None:
                    await db.wait_for_ts(e.conflict_ts, timeout=5)
                continue
            return result, ts
        finally:
            db.hot_keys.release(held)
            if tx is not None:
                tx.release_streams()


def _hand_on(db: Database, held: list[Key]) -> None:
    """The holder's commit is sequenced: release its locks now (once)."""
    db.hot_keys.release(held)
    held.clear()
