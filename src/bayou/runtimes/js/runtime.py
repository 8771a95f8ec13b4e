"""The JS runtime: a pool of Node workers that runs the functions of pushed module sets.

    runtime = JsRuntime()
    await runtime.start()
    await runtime.load(version, modules)            # once per pushed module set
    analysis = await runtime.analyze(version, env=env_vars)
    result = await runtime.invoke(Invocation(...), handler)   # handler answers syscalls

Scheduling:
- queries and mutations run on "udf" workers, one top-level call per worker at a time, so
  a runaway call can be killed with its process without harming anyone else. Calls they
  make themselves (`ctx.runQuery`/`ctx.runMutation`, the `1.0/runUdf` syscall: the core
  calls `invoke` again from inside the handler) run on the same worker, which is waiting
  for them anyway — so nesting needs no second worker and cannot deadlock;
- actions run on separate "action" workers, many per worker. Queries and mutations they
  call (`1.0/actions/query`) are top-level calls on udf workers, which actions never hold,
  so actions cannot starve them; actions they call run without taking a second action slot;
- admission follows Convex's defaults: 16 queries, 16 mutations and 64 actions in flight,
  more wait in FIFO order. A crashed or killed worker is replaced at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Iterable

import orjson

from bayou.errors import InternalError
from bayou.runtimes.js.analysis import Analysis, Module
from bayou.runtimes.js.invocation import Invocation, InvocationResult, SyscallHandler
from bayou.runtimes.js.node import find_node
from bayou.runtimes.js.worker import ACTIVE_CALL, Worker

logger = logging.getLogger("bayou.runtimes.js")


class JsRuntime:
    """A pool of Node workers running Convex functions; see the module docstring."""

    def __init__(
        self,
        *,
        node: str | None = None,
        max_concurrent_queries: int = 16,
        max_concurrent_mutations: int = 16,
        max_concurrent_actions: int = 64,
        workers: int | None = None,
        action_workers: int = 1,
        max_context_uses: int = 0,
        analysis_timeout_s: float = 10.0,
        retire_after_discards: int = 100,
    ) -> None:
        """`workers`: processes for queries and mutations (default: twice the CPU count).
        `max_context_uses`: calls a query/mutation context serves before a fresh one
        (0: no limit; 1: a fresh context per call, Convex's own semantics, ~3 ms slower).
        `analysis_timeout_s`: time a module may take to evaluate at import.
        `retire_after_discards`: contexts a worker may drop (each leaks ~0.5 MB in Node)
        before it is replaced."""
        self._node_hint = node
        # Two per core: a worker waits on syscalls half the time (measured: 1.2x at 2 cores).
        self._udf_count = workers if workers is not None else max(2, 2 * (os.cpu_count() or 1))
        self._action_count = max(1, action_workers)
        self._max_context_uses = max_context_uses
        self._retire_after_discards = retire_after_discards
        self._analysis_timeout_s = analysis_timeout_s
        self._limits = (max_concurrent_queries, max_concurrent_mutations, max_concurrent_actions)
        self._versions: dict[str, bytes] = {}
        self._udf_workers: list[Worker] = []
        self._action_workers: list[Worker] = []
        self._idle: deque[Worker] = deque()
        self._waiters: deque[asyncio.Future[Worker]] = deque()
        self._replacing: set[asyncio.Task[None]] = set()
        self._swapping: set[Worker] = set()
        self._started = False
        self._closing = False

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Find Node and start the workers."""
        if self._started:
            return
        self.node = find_node(self._node_hint)
        queries, mutations, actions = self._limits
        self._query_slots = asyncio.Semaphore(queries)
        self._mutation_slots = asyncio.Semaphore(mutations)
        self._action_slots = asyncio.Semaphore(actions)
        self._started = True
        udf = [self._new_worker("udf") for _ in range(self._udf_count)]
        action = [self._new_worker("action") for _ in range(self._action_count)]
        await asyncio.gather(*(w.start() for w in udf + action))
        self._udf_workers = udf
        self._action_workers = action
        for worker in udf:
            self._release(worker)

    async def close(self) -> None:
        """Stop every worker; calls in flight fail."""
        self._closing = True
        for task in list(self._replacing):
            task.cancel()
        workers = self._udf_workers + self._action_workers
        await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(InternalError("The JS runtime is shutting down"))

    def _new_worker(self, role: str) -> Worker:
        return Worker(
            self.node,
            role=role,
            max_context_uses=self._max_context_uses,
            retire_after_discards=self._retire_after_discards,
            on_exit=self._on_exit,
            on_retire=self._on_retire,
        )

    def worker_pids(self) -> dict[str, list[int]]:
        """Process ids of the live workers, by role (for operators and tests)."""
        return {
            "udf": [w.pid for w in self._udf_workers if w.alive and w.pid],
            "action": [w.pid for w in self._action_workers if w.alive and w.pid],
        }

    # --- module sets --------------------------------------------------------------------

    async def load(
        self,
        version: str,
        modules: Iterable[Module],
        *,
        import_seed: int = 0,
        import_time_ms: float = 0.0,
    ) -> None:
        """Make the module set `version` available; workers receive it on first use.
        `import_seed`/`import_time_ms` are what module top-level code sees as Math.random's
        seed and Date.now() (Convex's udfConfig importPhaseRngSeed / UnixTimestamp)."""
        self._versions[version] = (
            orjson.dumps(
                {
                    "t": "load",
                    "v": version,
                    "modules": [m.to_json() for m in modules],
                    "seed": import_seed,
                    "now": import_time_ms,
                }
            )
            + b"\n"
        )

    def unload(self, version: str) -> None:
        """Forget a module set (workers drop it as newer ones arrive)."""
        self._versions.pop(version, None)

    def _load_message(self, version: str) -> bytes:
        try:
            return self._versions[version]
        except KeyError:
            raise InternalError(
                f"Module set {version} was not loaded into the JS runtime"
            ) from None

    async def analyze(self, version: str, *, env: dict[str, str] | None = None) -> Analysis:
        """Evaluate every module of `version` and report its exports (AnalysisError when a
        module fails at import time or exports something malformed)."""
        self._require_started()
        load_message = self._load_message(version)
        worker = await self._acquire()
        try:
            worker.ensure_loaded(version, load_message)
            result = await worker.analyze(version, env or {}, self._analysis_timeout_s)
        finally:
            self._release(worker)
        return Analysis.from_json(result)

    # --- calls --------------------------------------------------------------------------

    async def invoke(self, call: Invocation, syscalls: SyscallHandler) -> InvocationResult:
        """Run one function call; user errors, timeouts and crashes come back as results."""
        self._require_started()
        load_message = self._load_message(call.version)
        parent = ACTIVE_CALL.get()
        if call.udf_type == "action":
            if parent is not None and not parent.qm:
                return await self._run_action(call, syscalls, load_message)
            async with self._action_slots:
                return await self._run_action(call, syscalls, load_message)
        if call.udf_type not in ("query", "mutation"):
            raise InternalError(f"Unknown function type {call.udf_type!r}")
        if parent is not None and parent.qm and parent.worker.alive:
            return await parent.worker.run(call, syscalls, load_message)
        slots = self._query_slots if call.udf_type == "query" else self._mutation_slots
        async with slots:
            worker = await self._acquire()
            try:
                return await worker.run(call, syscalls, load_message)
            finally:
                self._release(worker)

    def _require_started(self) -> None:
        if not self._started or self._closing:
            raise InternalError("The JS runtime is not running (call JsRuntime.start())")

    async def _run_action(
        self, call: Invocation, syscalls: SyscallHandler, load_message: bytes
    ) -> InvocationResult:
        worker = self._action_worker()
        try:
            return await worker.run(call, syscalls, load_message)
        finally:
            if worker.retiring and not worker.calls:
                self._swap_later(worker)

    def _action_worker(self) -> Worker:
        live = [w for w in self._action_workers if w.alive]
        if not live:
            raise InternalError("No JS action worker is running")
        fresh = [w for w in live if not w.retiring] or live
        return min(fresh, key=lambda w: len(w.calls))

    # --- the udf worker pool ------------------------------------------------------------

    async def _acquire(self) -> Worker:
        while self._idle:
            worker = self._idle.popleft()
            if worker.alive:
                return worker
        waiter: asyncio.Future[Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())
            raise

    def _release(self, worker: Worker) -> None:
        if not worker.alive or self._closing:
            return
        if worker.retiring:
            self._swap_later(worker)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    def _on_exit(self, worker: Worker) -> None:
        if self._closing:
            return
        logger.warning("JS %s worker %s exited; starting a replacement", worker.role, worker.pid)
        self._swap_later(worker)

    def _on_retire(self, worker: Worker) -> None:
        logger.info("JS %s worker %s asked to be replaced", worker.role, worker.pid)
        if worker in self._idle:
            self._idle.remove(worker)
            self._swap_later(worker)
        elif worker.role == "action" and not worker.calls:
            self._swap_later(worker)

    def _swap_later(self, old: Worker) -> None:
        if self._closing or old in self._swapping:
            return
        self._swapping.add(old)
        task = asyncio.get_running_loop().create_task(self._swap(old))
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def _swap(self, old: Worker) -> None:
        """Start a worker to take `old`'s place, then let `old` go (crashed or retired)."""
        pool = self._udf_workers if old.role == "udf" else self._action_workers
        delay = 0.1
        while True:
            fresh = self._new_worker(old.role)
            try:
                await fresh.start()
                break
            except Exception:
                logger.exception("Could not start a JS worker; retrying in %gs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        if self._closing:
            await fresh.close()
            return
        pool[pool.index(old)] = fresh
        self._swapping.discard(old)
        if fresh.role == "udf":
            self._release(fresh)
        await old.close()
