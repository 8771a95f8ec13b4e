"""Scheduled functions (`_scheduled_functions`): the jobs `ctx.scheduler` creates.

Each document has exactly the shape users read through `ctx.db.system` and
`npx convex data _scheduled_functions`: `name` (`dir/mod.js:fn`), `args` (`[argsObject]`),
`scheduledTime` (ms), `completedTime` (ms, once finished) and `state`:
`{kind: "pending" | "inProgress" | "success" | "canceled"}` or `{kind: "failed", error}`.
The `by_state` index over (`state.kind`, `scheduledTime`) finds the jobs that are due.

This module owns the data and its state machine (Convex's, db-semantics.md §6.1); the
scheduler (`bayou.scheduler`) runs the jobs:

    pending ──(mutation: in the job's own transaction)──────────────▶ success
       │    ──(action: own tx)──▶ inProgress ──(own tx)─────────────▶ success | failed
       └──cancel──▶ canceled          └──cancel──▶ canceled (the action runs on)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bayou.database.catalog import SystemTable
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest

SCHEDULED_FUNCTIONS = SystemTable(
    "_scheduled_functions", 24, {"by_state": ("state.kind", "scheduledTime")}
)

# Convex's limits (crates/common/src/knobs.rs): per scheduling transaction.
MAX_SCHEDULED_PER_TRANSACTION = 1000
MAX_SCHEDULED_ARGS_BYTES = 16 * 1024 * 1024
MAX_SCHEDULE_DISTANCE_MS = 5 * 366 * 24 * 3600 * 1000  # ±5 years of the caller's clock
RETENTION_MS = 7 * 24 * 3600 * 1000  # finished jobs are kept a week

FINISHED = ("success", "failed", "canceled")
ACTION_CRASHED = "Transient error while executing action"


@dataclass(frozen=True, slots=True)
class Job:
    """A job as the scheduler runs it."""

    id: str
    name: str  # canonical `dir/mod.js:fn`
    args: dict[str, Any]
    scheduled_ms: float
    state: str
    namespace: str = ""  # the component whose `_scheduled_functions` holds the job
    component: str = ""  # the component whose function it runs (a function handle's)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], namespace: str = "") -> Job:
        args = doc["args"]
        return cls(
            doc["_id"],
            doc["name"],
            args[0] if args else {},
            doc["scheduledTime"],
            doc["state"]["kind"],
            namespace,
            doc.get("componentPath", namespace),
        )


def _by_state(kind: str, *bounds: dict[str, Any], limit: int | None = None) -> dict[str, Any]:
    query: dict[str, Any] = {
        "source": {
            "type": "IndexRange",
            "indexName": f"{SCHEDULED_FUNCTIONS.name}.by_state",
            "range": [{"type": "Eq", "fieldPath": "state.kind", "value": kind}, *bounds],
            "order": "asc",
        },
        "operators": [] if limit is None else [{"limit": limit}],
    }
    return query


async def insert(
    tx: Transaction,
    name: str,
    args: dict[str, Any],
    scheduled_ms: float,
    *,
    canceled: bool = False,
    now_ms: float,
    component: str | None = None,
) -> str:
    """Create a job (already `canceled` when its scheduler was canceled); returns its id.
    `component`: the function is another component's (scheduled through a handle)."""
    doc: dict[str, Any] = {
        "name": name,
        "args": [args],
        "scheduledTime": float(scheduled_ms),
        "state": {"kind": "canceled" if canceled else "pending"},
    }
    if component is not None and component != tx.namespace:
        doc["componentPath"] = component
    if canceled:
        doc["completedTime"] = float(now_ms)
    return await tx.insert(SCHEDULED_FUNCTIONS.name, doc, system=True)


async def get(tx: Transaction, job_id: str) -> dict[str, Any] | None:
    """The job document, or None (also for an id of another table)."""
    table = tx.table_of_id(job_id)
    if table is None or table.name != SCHEDULED_FUNCTIONS.name:
        return None
    return await tx.get(job_id, system=True)


async def set_state(
    tx: Transaction, job_id: str, state: dict[str, Any], *, now_ms: float | None = None
) -> None:
    fields: dict[str, Any] = {"state": state}
    if now_ms is not None:
        fields["completedTime"] = float(now_ms)
    await tx.patch(job_id, fields, system=True)


async def start_mutation(tx: Transaction, job_id: str) -> bool:
    """In a scheduled mutation's transaction: mark its job running (the mutation sees its
    own row `inProgress`); False when the job is no longer pending (canceled)."""
    doc = await get(tx, job_id)
    if doc is None or doc["state"]["kind"] != "pending":
        return False
    await set_state(tx, job_id, {"kind": "inProgress"})
    return True


async def start_action(tx: Transaction, job_id: str) -> bool:
    """Mark an action's job running before it starts (its own commit: at most once)."""
    return await start_mutation(tx, job_id)


async def finish(tx: Transaction, job_id: str, state: dict[str, Any]) -> None:
    """Record how a job ended, unless it was canceled meanwhile."""
    doc = await get(tx, job_id)
    if doc is None or doc["state"]["kind"] in FINISHED:
        return
    await set_state(tx, job_id, state, now_ms=time.time() * 1000.0)


async def cancel(tx: Transaction, job_id: str, now_ms: float) -> None:
    """`ctx.scheduler.cancel`: a pending or running job becomes canceled; others stay."""
    if not isinstance(job_id, str) or tx.table_of_id(job_id) is None:
        raise BadRequest(f"Invalid scheduled function id {job_id!r}", code="InvalidArgument")
    doc = await get(tx, job_id)
    if doc is None:
        table = tx.table_of_id(job_id)
        if table is not None and table.name != SCHEDULED_FUNCTIONS.name:
            raise BadRequest(
                f"ID {job_id!r} is not an id of a scheduled function (it belongs to table "
                f"{table.name!r})",
                code="InvalidArgument",
            )
        return
    if doc["state"]["kind"] in ("pending", "inProgress"):
        await set_state(tx, job_id, {"kind": "canceled"}, now_ms=now_ms)


async def is_canceled(tx: Transaction, job_id: str) -> bool:
    doc = await get(tx, job_id)
    return doc is not None and doc["state"]["kind"] == "canceled"


async def pending(tx: Transaction, limit: int) -> list[Job]:
    """The earliest pending jobs (due or not), in the order they are due."""
    docs = await tx.query(_by_state("pending", limit=limit), system=True).collect()
    return [Job.from_doc(d, tx.namespace) for d in docs]


async def lag_s(tx: Transaction, now_ms: float) -> float:
    """How late the earliest pending job is, in seconds (0 when none is due): the
    scheduler lag of `/metrics` and the dashboard."""
    if tx.table_for_read(SCHEDULED_FUNCTIONS.name) is None:
        return 0.0
    jobs = await pending(tx, 1)
    return max(0.0, now_ms - jobs[0].scheduled_ms) / 1000 if jobs else 0.0


async def fail_interrupted_actions(tx: Transaction, now_ms: float) -> int:
    """At start: actions a stopped server left `inProgress` failed, and are never re-run
    (an action runs at most once)."""
    docs = await tx.query(_by_state("inProgress", limit=500), system=True).collect()
    for doc in docs:
        await set_state(tx, doc["_id"], {"kind": "failed", "error": ACTION_CRASHED}, now_ms=now_ms)
    return len(docs)


async def delete_finished_before(tx: Transaction, cutoff_ms: float, limit: int = 500) -> int:
    """Delete up to `limit` finished jobs completed before `cutoff_ms`; returns how many."""
    deleted = 0
    for kind in FINISHED:
        docs = await tx.query(_by_state(kind, limit=limit), system=True).collect()
        for doc in docs:
            if doc.get("completedTime", 0.0) < cutoff_ms and deleted < limit:
                await tx.delete(doc["_id"], system=True)
                deleted += 1
    return deleted
