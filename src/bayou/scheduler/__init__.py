"""The scheduler: running scheduled functions (`ctx.scheduler`) and cron jobs.

The data lives in the model layer (`model/scheduled_functions.py`, `model/cron_jobs.py`);
this package only runs it, through the function runner, with no user identity.
"""

from __future__ import annotations

from bayou.database.database import Database
from bayou.runner.function_runner import FunctionRunner
from bayou.scheduler.crons import CronRunner
from bayou.scheduler.jobs import JobRunner


class Scheduler:
    """Both runners, started and stopped together by the backend."""

    def __init__(self, db: Database, runner: FunctionRunner, *, concurrency: int = 8) -> None:
        self.jobs = JobRunner(db, runner, concurrency=concurrency)
        self.crons = CronRunner(db, runner)

    def start(self) -> None:
        self.jobs.start()
        self.crons.start()

    async def stop(self) -> None:
        await self.crons.stop()
        await self.jobs.stop()
