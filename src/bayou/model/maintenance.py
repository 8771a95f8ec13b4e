"""Background housekeeping of system tables: at start, finishing index backfills that a
stop cut short; then, every ten minutes, expiring stored sync-mutation results and
scheduled functions that finished a week ago.

Runs as one asyncio task; each job works in small transactions so it never holds up
user traffic, and a failure is logged and retried at the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.database.schema_change import resume_backfills
from bayou.database.transaction import Transaction
from bayou.model import scheduled_functions, session_requests

log = logging.getLogger("bayou.maintenance")


class Maintenance:
    def __init__(self, db: Database, *, interval_s: float = 600.0) -> None:
        self.db = db
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="bayou-maintenance")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        try:
            resumed = await resume_backfills(self.db)
            if resumed:
                log.info("finished %d index backfill(s) a stop had cut short", len(resumed))
        except Exception:  # the next push or start tries again
            log.exception("resuming index backfills failed")
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.expire_session_requests()
                await self.expire_finished_jobs()
            except Exception:  # logged, retried next tick: housekeeping must not crash the server
                log.exception("housekeeping failed")

    async def expire_finished_jobs(self, now_ms: float | None = None) -> int:
        """Delete scheduled functions that finished more than a week ago (Convex keeps them
        as long); returns how many."""
        cutoff = _now_ms(now_ms) - scheduled_functions.RETENTION_MS
        return await self._delete_in_batches(
            lambda tx: scheduled_functions.delete_finished_before(tx, cutoff)
        )

    async def expire_session_requests(self, now_ms: float | None = None) -> int:
        """Delete stored sync-mutation results older than their retention; returns how many."""
        cutoff = _now_ms(now_ms) - session_requests.RETENTION_MS
        return await self._delete_in_batches(
            lambda tx: session_requests.delete_older_than(tx, cutoff)
        )

    async def _delete_in_batches(self, batch: Callable[[Transaction], Awaitable[int]]) -> int:
        """Run `batch` (one small transaction deleting some rows) until it deletes nothing."""
        total = 0
        while True:
            deleted, _ = await run_transaction(self.db, batch)
            total += deleted
            if deleted == 0:
                return total


def _now_ms(given: float | None) -> float:
    return given if given is not None else time.time() * 1000
