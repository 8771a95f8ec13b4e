"""Cron jobs (`_cron_jobs`): the deployed `crons` and when each runs next.

One document per cron identifier: `{name: identifier, function: "dir/mod:fn", args,
schedule, nextRunTime: ms | null, lastRunTime?, lastRun?: {kind: "success"} | {kind:
"failed", error}, running: bool}`. A push rewrites the set in the commit that switches the
code (`sync`), so a deploy that adds, changes or removes a cron changes the schedule
atomically with it; an unchanged cron keeps its next run. The scheduler
(`bayou.scheduler.crons`) runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bayou.database.catalog import SystemTable
from bayou.database.transaction import Transaction

CRON_JOBS = SystemTable("_cron_jobs", 25, {"by_name": ("name",), "by_next_run": ("nextRunTime",)})


@dataclass(frozen=True, slots=True)
class Cron:
    id: str
    name: str
    function: str
    args: dict[str, Any]
    schedule: dict[str, Any]
    next_run_ms: float | None
    running: bool
    component: str = ""  # the component whose `crons` it is (and whose `_cron_jobs`)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], component: str = "") -> Cron:
        args = doc.get("args") or [{}]
        return cls(
            doc["_id"],
            doc["name"],
            doc["function"],
            args[0] if args else {},
            doc["schedule"],
            doc.get("nextRunTime"),
            bool(doc.get("running")),
            component,
        )


def _query(index: str, *bounds: dict[str, Any], limit: int | None = None) -> dict[str, Any]:
    return {
        "source": {
            "type": "IndexRange",
            "indexName": f"{CRON_JOBS.name}.{index}",
            "range": list(bounds),
            "order": "asc",
        },
        "operators": [] if limit is None else [{"limit": limit}],
    }


async def all_crons(tx: Transaction) -> list[Cron]:
    docs = await tx.query(_query("by_name"), system=True).collect()
    return [Cron.from_doc(d, tx.namespace) for d in docs]


async def get(tx: Transaction, cron_id: str) -> Cron | None:
    doc = await tx.get(cron_id, system=True)
    return None if doc is None else Cron.from_doc(doc, tx.namespace)


async def sync(tx: Transaction, crons: dict[str, Any], first_run: Any) -> None:
    """Make `_cron_jobs` hold exactly `crons` (`{identifier: {name, args, schedule}}`);
    `first_run(identifier, schedule)` gives a new or changed cron its first run time."""
    existing = {c.name: c for c in await all_crons(tx)}
    for identifier, spec in crons.items():
        function, args, schedule = spec["name"], spec.get("args") or [{}], spec["schedule"]
        old = existing.pop(identifier, None)
        if old is not None and (old.function, [old.args], old.schedule) == (
            function,
            args,
            schedule,
        ):
            continue
        fields = {
            "name": identifier,
            "function": function,
            "args": args,
            "schedule": schedule,
            "nextRunTime": first_run(identifier, schedule),
            "running": False,
        }
        if old is None:
            await tx.insert(CRON_JOBS.name, fields, system=True)
        else:
            await tx.replace(old.id, fields, system=True)
    for gone in existing.values():
        await tx.delete(gone.id, system=True)


async def next_due(tx: Transaction, limit: int) -> list[Cron]:
    """Crons not running, earliest next run first (due or not)."""
    docs = await tx.query(
        _query("by_next_run", {"type": "Gte", "fieldPath": "nextRunTime", "value": 0.0}),
        system=True,
    ).collect()
    out = [Cron.from_doc(d, tx.namespace) for d in docs if not d.get("running")]
    return out[:limit]


async def set_fields(tx: Transaction, cron_id: str, fields: dict[str, Any]) -> None:
    await tx.patch(cron_id, fields, system=True)


async def running(tx: Transaction) -> list[Cron]:
    """Crons marked running (an action cron a stopped server left behind)."""
    return [c for c in await all_crons(tx) if c.running]
