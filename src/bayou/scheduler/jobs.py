"""Running scheduled functions (`_scheduled_functions`), Convex's way (db-semantics §6.1):

- due jobs start in `scheduledTime` order, at most `concurrency` at once; the runner wakes
  when a commit schedules something, so an idle server starts a job within milliseconds of
  its time;
- a mutation runs exactly once: its job turns `success` in the mutation's own transaction;
  a user error marks it `failed`; a failure of the system (a crashed worker) retries it
  with a back-off from 0.5 s up to 2 h;
- an action runs at most once: `inProgress` commits before it starts, its outcome after;
  an action a stopped server left `inProgress` is marked failed at start, never re-run;
- a job whose function is gone (a later deploy removed it) fails with a message saying so.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from bayou.database.database import Database
from bayou.database.namespaced import in_namespace
from bayou.database.retry import run_transaction
from bayou.database.transaction import Transaction
from bayou.model import scheduled_functions as jobs
from bayou.model.scheduled_functions import SCHEDULED_FUNCTIONS, Job
from bayou.protocol.function_path import FunctionPath
from bayou.runner.function_runner import JOB_NOT_PENDING, CallRequest, CallResult, FunctionRunner
from bayou.runner.identity import SYSTEM
from bayou.scheduler.loop import WakeLoop, log

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 2 * 3600.0


class _JobHooks:
    """A scheduled mutation's bookkeeping inside its own transaction."""

    def __init__(self, job: Job) -> None:
        self.job = job

    async def before(self, tx: Transaction) -> bool:
        return await jobs.start_mutation(in_namespace(tx, self.job.namespace), self.job.id)

    async def after(self, tx: Transaction) -> None:
        await jobs.finish(in_namespace(tx, self.job.namespace), self.job.id, {"kind": "success"})


class JobRunner(WakeLoop):
    """Runs due `_scheduled_functions` jobs; see the module docstring."""

    def __init__(
        self, db: Database, runner: FunctionRunner, *, concurrency: int = 8, clock: Any = None
    ) -> None:
        super().__init__(db, SCHEDULED_FUNCTIONS.name, "bayou-scheduler")
        self.runner = runner
        self.concurrency = concurrency
        self.clock = clock or time.time
        self._retry_at: dict[str, float] = {}  # job id → ms: system failures back off
        self._failures: dict[str, int] = {}
        self.lags_ms: deque[float] = deque(maxlen=10_000)  # start time − scheduled time

    def _now_ms(self) -> float:
        return float(self.clock()) * 1000.0

    async def recover(self) -> None:
        failed = 0
        for namespace in ["", *self.runner.deployment().components]:
            count, _ = await run_transaction(
                self.db,
                lambda tx, ns=namespace: jobs.fail_interrupted_actions(
                    in_namespace(tx, ns), self._now_ms()
                ),
            )
            failed += count
        if failed:
            log.warning("marked %d action(s) a stop interrupted as failed", failed)

    async def tick(self) -> float | None:
        now = self._now_ms()
        skip = len(self.running) + len(self._retry_at)
        snapshot = self.db.begin(read_only=True)
        waiting = await jobs.pending(snapshot, self.concurrency + skip + 1)
        # Each component keeps its own `_scheduled_functions`.
        for namespace in self.runner.deployment().components:
            waiting += await jobs.pending(
                in_namespace(snapshot, namespace), self.concurrency + skip + 1
            )
        waiting.sort(key=lambda job: job.scheduled_ms)
        next_ms: float | None = None
        for job in waiting:
            if job.id in self.running:
                continue
            due = max(job.scheduled_ms, self._retry_at.get(job.id, 0.0))
            if due > now or len(self.running) >= self.concurrency:
                next_ms = due if next_ms is None else min(next_ms, due)
                continue
            self.spawn(job.id, self._run(job, now))
        if next_ms is None:
            return None
        return max(0.0, (next_ms - now) / 1000.0)

    async def _run(self, job: Job, started_ms: float) -> None:
        if job.id not in self._retry_at:
            self.lags_ms.append(started_ms - job.scheduled_ms)
        self._retry_at.pop(job.id, None)
        try:
            await self._execute(job)
        except Exception:  # a bug or a lost database: the job stays as it is, retried later
            log.exception("running scheduled function %s (%s) failed", job.name, job.id)
            self._back_off(job.id)

    async def _execute(self, job: Job) -> None:
        path = FunctionPath.parse(job.name)
        code = self.runner.deployment().code(job.component)
        spec = code.function(path) if code is not None else None
        kind = spec.udf_type if spec is not None else None
        if kind == "mutation":
            result = await self._call(job, path, "mutation", _JobHooks(job))
            if result.ok or (result.error_message or "").startswith(JOB_NOT_PENDING):
                self._failures.pop(job.id, None)
                return
            if result.transient:
                self._back_off(job.id)
                return
            await self._finish(job, _failed(result))
        elif kind == "action":
            started, _ = await run_transaction(
                self.db, lambda tx: jobs.start_action(in_namespace(tx, job.namespace), job.id)
            )
            if not started:
                return
            result = await self._call(job, path, "action", None)
            await self._finish(job, {"kind": "success"} if result.ok else _failed(result))
        else:
            message = (
                f"Could not find function for '{path}': the deployment has no mutation or "
                "action by that name any more."
            )
            await self._finish(job, {"kind": "failed", "error": message})

    async def _call(self, job: Job, path: FunctionPath, kind: str, hooks: Any) -> CallResult:
        return await self.runner.call(
            CallRequest(
                path,
                job.args,
                kind,  # type: ignore[arg-type]
                SYSTEM,
                caller="Scheduler",
                scheduled_job=job.id,
                hooks=hooks,
                component=job.component,
            )
        )

    async def _finish(self, job: Job, state: dict[str, Any]) -> None:
        self._failures.pop(job.id, None)
        await run_transaction(
            self.db, lambda tx: jobs.finish(in_namespace(tx, job.namespace), job.id, state)
        )

    def _back_off(self, job_id: str) -> None:
        failures = self._failures.get(job_id, 0)
        self._failures[job_id] = failures + 1
        delay_s = min(RETRY_MAX_S, RETRY_FIRST_S * 2**failures)
        self._retry_at[job_id] = self._now_ms() + delay_s * 1000.0


def _failed(result: CallResult) -> dict[str, Any]:
    return {"kind": "failed", "error": (result.error_message or "Unknown error").rstrip("\n")}
