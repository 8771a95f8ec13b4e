"""Running cron jobs (`_cron_jobs`).

Each cron runs at most one run at a time: a run that is still going when the next time
comes means that time is skipped (Convex's rule), and after a stop the missed times are
skipped too — the cron runs once, at its next time after the server is back. A mutation
cron advances its next run in the mutation's own transaction (exactly once per time); an
action cron marks itself running before it starts (at most once) and is released at
start if a stop interrupted it. A deploy that changes a cron while it runs wins: the run's
outcome does not overwrite the new schedule.
"""

from __future__ import annotations

import time
from typing import Any

from bayou.database.database import Database
from bayou.database.namespaced import in_namespace
from bayou.database.retry import run_transaction
from bayou.database.transaction import Transaction
from bayou.model import cron_jobs
from bayou.model.cron_jobs import CRON_JOBS, Cron
from bayou.protocol.function_path import FunctionPath
from bayou.runner.function_runner import JOB_NOT_PENDING, CallRequest, CallResult, FunctionRunner
from bayou.runner.identity import SYSTEM
from bayou.scheduler.cron_schedule import next_run_ms
from bayou.scheduler.loop import WakeLoop, log


def _same_cron(current: Cron | None, run: Cron) -> bool:
    """The cron is still the one this run started for (no deploy changed it since)."""
    return (
        current is not None
        and current.function == run.function
        and current.schedule == run.schedule
        and current.args == run.args
    )


class _CronHooks:
    """A mutation cron's bookkeeping inside the mutation's own transaction."""

    def __init__(self, owner: CronRunner, cron: Cron) -> None:
        self.owner = owner
        self.cron = cron

    async def before(self, tx: Transaction) -> bool:
        current = await cron_jobs.get(in_namespace(tx, self.cron.component), self.cron.id)
        return _same_cron(current, self.cron) and current.next_run_ms == self.cron.next_run_ms  # type: ignore[union-attr]

    async def after(self, tx: Transaction) -> None:
        await cron_jobs.set_fields(
            in_namespace(tx, self.cron.component),
            self.cron.id,
            self.owner.after_run(self.cron, None),
        )


class CronRunner(WakeLoop):
    def __init__(self, db: Database, runner: FunctionRunner, *, clock: Any = None) -> None:
        super().__init__(db, CRON_JOBS.name, "bayou-crons")
        self.runner = runner
        self.clock = clock or time.time

    def _now_ms(self) -> float:
        return float(self.clock()) * 1000.0

    def after_run(self, cron: Cron, error: str | None) -> dict[str, Any]:
        """The fields a finished run leaves: its outcome, and the next time (skipping
        times that passed while it ran)."""
        assert cron.next_run_ms is not None
        return {
            "running": False,
            "lastRunTime": cron.next_run_ms,
            "lastRun": {"kind": "success"} if error is None else {"kind": "failed", "error": error},
            "nextRunTime": next_run_ms(cron.name, cron.schedule, cron.next_run_ms, self._now_ms()),
        }

    def _namespaces(self) -> list[str]:
        """The app and every component: each keeps its own `_cron_jobs`."""
        return ["", *self.runner.deployment().components]

    async def recover(self) -> None:
        released = 0
        for namespace in self._namespaces():
            count, _ = await run_transaction(
                self.db, lambda tx, ns=namespace: self._release(in_namespace(tx, ns))
            )
            released += count
        if released:
            log.warning("released %d cron job(s) a stop interrupted", released)

    async def _release(self, tx: Transaction) -> int:
        """Crons a stop left running: not running, at their next time."""
        stuck = await cron_jobs.running(tx)
        for cron in stuck:
            now = self._now_ms()
            await cron_jobs.set_fields(
                tx,
                cron.id,
                {
                    "running": False,
                    "nextRunTime": next_run_ms(cron.name, cron.schedule, None, now)
                    if cron.next_run_ms is None
                    else cron.next_run_ms,
                },
            )
        return len(stuck)

    async def tick(self) -> float | None:
        now = self._now_ms()
        snapshot = self.db.begin(read_only=True)
        crons = []
        for namespace in self._namespaces():
            crons += await cron_jobs.next_due(in_namespace(snapshot, namespace), 1000)
        next_ms: float | None = None
        for cron in crons:
            if cron.id in self.running or cron.next_run_ms is None:
                continue
            if cron.next_run_ms > now:
                next_ms = cron.next_run_ms if next_ms is None else min(next_ms, cron.next_run_ms)
                continue
            self.spawn(cron.id, self._run(cron))
        return None if next_ms is None else max(0.0, (next_ms - now) / 1000.0)

    async def _run(self, cron: Cron) -> None:
        try:
            await self._execute(cron)
        except Exception:
            log.exception("running cron job %r failed", cron.name)

    async def _execute(self, cron: Cron) -> None:
        path = FunctionPath.parse(cron.function)
        code = self.runner.deployment().code(cron.component)
        spec = code.function(path) if code is not None else None
        kind = spec.udf_type if spec is not None else None
        if kind == "mutation":
            result = await self._call(cron, path, "mutation", _CronHooks(self, cron))
            if result.ok or (result.error_message or "").startswith(JOB_NOT_PENDING):
                return
            await self._record(cron, _error(result))
        elif kind == "action":

            async def start(tx: Transaction) -> bool:
                tx = in_namespace(tx, cron.component)
                current = await cron_jobs.get(tx, cron.id)
                if not _same_cron(current, cron) or current.next_run_ms != cron.next_run_ms:  # type: ignore[union-attr]
                    return False
                await cron_jobs.set_fields(tx, cron.id, {"running": True})
                return True

            started, _ = await run_transaction(self.db, start)
            if not started:
                return
            result = await self._call(cron, path, "action", None)
            await self._record(cron, None if result.ok else _error(result))
        else:
            await self._record(
                cron, f"Could not find function for '{path}': the cron job's function is gone."
            )

    async def _call(self, cron: Cron, path: FunctionPath, kind: str, hooks: Any) -> CallResult:
        return await self.runner.call(
            CallRequest(
                path,
                cron.args,
                kind,  # type: ignore[arg-type]
                SYSTEM,
                caller="Cron",
                hooks=hooks,
                component=cron.component,
            )
        )

    async def _record(self, cron: Cron, error: str | None) -> None:
        async def write(tx: Transaction) -> None:
            tx = in_namespace(tx, cron.component)
            if _same_cron(await cron_jobs.get(tx, cron.id), cron):
                await cron_jobs.set_fields(tx, cron.id, self.after_run(cron, error))

        await run_transaction(self.db, write)


def _error(result: CallResult) -> str:
    return (result.error_message or "Unknown error").rstrip("\n")
