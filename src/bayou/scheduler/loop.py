"""A background loop that sleeps until its next due time or until a commit writes its table
(a job scheduled, a deploy changing the crons), whichever comes first."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bayou.database.database import Database
from bayou.database.write_log import LogEntry

log = logging.getLogger("bayou.scheduler")

MAX_SLEEP_S = 30.0  # re-check now and then even if nothing says so


class WakeLoop:
    """Subclasses say what to do at start (`recover`) and on each turn (`tick`, which returns
    how long it may sleep, or None for "until woken")."""

    def __init__(self, db: Database, table: str, name: str) -> None:
        self.db = db
        self.table = table
        self.name = name
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.running: dict[str, asyncio.Task[None]] = {}

    def start(self) -> None:
        self.db.add_commit_listener(self._on_commit)
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.db.remove_commit_listener(self._on_commit)
        tasks = [t for t in (self._task, *self.running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None

    def wake(self) -> None:
        self._wake.set()

    def _on_commit(self, entries: list[LogEntry]) -> None:
        if any(self.table in entry.tables for entry in entries):
            self._wake.set()

    def spawn(self, key: str, coroutine) -> None:  # type: ignore[no-untyped-def]
        """Run `coroutine` as the work item `key`; the loop wakes when it ends."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self.running[key] = task

        def done(_: asyncio.Task[None]) -> None:
            if self.running.get(key) is task:
                del self.running[key]
            self._wake.set()

        task.add_done_callback(done)

    async def _loop(self) -> None:
        while True:
            try:
                await self.recover()
                break
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is briefly unavailable: try again
                log.exception("%s: recovery at start failed; retrying", self.name)
                await asyncio.sleep(1.0)
        while True:
            self._wake.clear()
            try:
                delay = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; retrying", self.name)
                delay = 1.0
            timeout = MAX_SLEEP_S if delay is None else min(max(delay, 0.0), MAX_SLEEP_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def recover(self) -> None:
        """Clean up what a stopped server left behind (before the first tick)."""

    async def tick(self) -> float | None:
        """Start what is due; return the seconds until something else is."""
        raise NotImplementedError
