"""A pool of Python worker processes of one kind (see host.py for the two kinds).

Calls take a worker, preferring one that already imported the call's version; `min_idle`
spare workers are kept started (in the background, so that a burst of calls does not
wait for processes to start) while the pool has fewer than `max_idle` workers, and at
most `max_idle` idle ones are kept. A worker that
crashed, timed out or asked to retire is discarded and waited for, so that no process
outlives the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from bayou.errors import InternalError
from bayou.runtimes.python.process import WorkerCrashed, WorkerProcess

Spawn = Callable[[], Coroutine[Any, Any, WorkerProcess]]


class WorkerPool:
    """Idle and busy workers started by `spawn` (see the module docstring)."""

    def __init__(self, spawn: Spawn, *, min_idle: int, max_idle: int) -> None:
        self._spawn_process = spawn
        self.min_idle = min_idle
        self.max_idle = max_idle
        self._idle: list[WorkerProcess] = []
        self._busy: set[WorkerProcess] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._spawning = 0
        self._starting = 0  # workers started for a waiting call
        self._closed = False
        self.spawned = 0

    async def start(self) -> None:
        """Start `min_idle` workers (and wait for them)."""
        self._closed = False
        for _ in range(self.min_idle - len(self._idle)):
            self._idle.append(await self._spawn())

    async def close(self) -> None:
        """Stop every worker, those still starting or stopping included."""
        self._closed = True
        pending = list(self._background)
        if pending:
            _, late = await asyncio.wait(pending, timeout=10.0)
            for task in late:
                task.cancel()
        workers = self._idle + list(self._busy)
        self._idle, self._busy = [], set()
        await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)

    @property
    def workers(self) -> list[WorkerProcess]:
        """The running workers, idle and busy."""
        return [*self._idle, *self._busy]

    async def acquire(self, version: str) -> WorkerProcess:
        """A worker for a call of `version` (started if none is idle)."""
        idle = self._idle
        while idle and not idle[-1].alive:
            idle.pop()
        chosen = next((w for w in reversed(idle) if w.version == version and w.alive), None)
        if chosen is None:
            chosen = next((w for w in reversed(idle) if w.alive), None)
        if chosen is not None:
            idle.remove(chosen)
            self._busy.add(chosen)
            self._top_up()
        else:
            self._starting += 1  # counts as busy for `_top_up` while it starts
            try:
                self._top_up()
                chosen = await self._spawn()
            finally:
                self._starting -= 1
            self._busy.add(chosen)
        chosen.version = version
        return chosen

    def release(self, worker: WorkerProcess) -> None:
        """Take back a worker after its call (discarded when dead, retired or surplus)."""
        self._busy.discard(worker)
        if self._closed or not worker.alive or len(self._idle) >= self.max_idle:
            self._discard(worker)
        else:
            self._idle.append(worker)
        self._top_up()

    async def _spawn(self) -> WorkerProcess:
        self.spawned += 1
        try:
            return await self._spawn_process()
        except WorkerCrashed as e:
            raise InternalError(str(e)) from None

    def _discard(self, worker: WorkerProcess) -> None:
        if worker.killed or worker.process.returncode is not None:
            self._in_background(worker.wait())
        else:
            self._in_background(worker.close())

    def _top_up(self) -> None:
        # A spare only while the pool is below `max_idle` workers in all: calls are
        # limited to that many at once, and a pool at its size that kept starting spares
        # would discard as many at each release (a new interpreter and app import each).
        while (
            not self._closed
            and len(self._idle) + self._spawning < self.min_idle
            and len(self._idle) + len(self._busy) + self._starting + self._spawning < self.max_idle
        ):
            self._spawning += 1
            self._in_background(self._replenish())

    async def _replenish(self) -> None:
        try:
            worker = await self._spawn()
        except InternalError:
            return
        finally:
            self._spawning -= 1
        if self._closed:
            await worker.close()
        else:
            self._idle.append(worker)

    def _in_background(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
