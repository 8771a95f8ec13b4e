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
- actions run on separate workers, many per worker: "action" workers for the Convex
  runtime, "node" workers (started on first use) for `"use node"` modules, which are Node
  as Node is while the others are hardened (worker.py). Queries and mutations they call
  (`1.0/actions/query`) are top-level calls on udf workers, which actions never hold, so
  actions cannot starve them; actions they call run without taking a second action slot;
- admission follows Convex's defaults: 16 queries, 16 mutations and 64 actions in flight,
  more wait in FIFO order. A crashed or killed worker is replaced at once;
- every worker is confined by the OS (`bayou.runtimes.confinement`): a minimal
  environment, its own user, no file of the server's, no network for queries and
  mutations, an address-space cap, and death with the server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterable, Sequence

import orjson

from bayou.errors import InternalError
from bayou.runtimes.confinement import Policy
from bayou.runtimes.confiner import Confiner, worker_environment
from bayou.runtimes.js.analysis import Analysis, Module
from bayou.runtimes.js.invocation import Invocation, InvocationResult, SyscallHandler
from bayou.runtimes.js.node import find_node
from bayou.runtimes.js.worker import ACTIVE_CALL, WORKER_SCRIPT, Worker
from bayou.runtimes.slots import WAIT_LIMIT_S, Slots

logger = logging.getLogger("bayou.runtimes.js")

ROLES = ("udf", "action", "node")
# The address-space cap of a worker: Node itself takes ~1.3 GiB of it (reservations).
DEFAULT_MEMORY_LIMIT_BYTES = 4 << 30
# What crosses from the server's environment to the workers (never its secrets);
# workers that may connect also get the proxy and certificate settings.
PASSED_ENV = ("LANG", "LC_ALL", "LC_CTYPE")
NETWORK_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
)


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
        node_workers: int = 1,
        confine: bool = True,
        private_dirs: Sequence[str] = (),
        memory_limit_bytes: int = DEFAULT_MEMORY_LIMIT_BYTES,
        slot_wait_s: float | None = WAIT_LIMIT_S,
    ) -> None:
        """`slot_wait_s`: how long a query or mutation waits for one of its kind's
        `max_concurrent_*` slots before it is refused (`slots.py`). `workers`: processes for queries and mutations (default: twice the CPU count).
        `max_context_uses`: calls a query/mutation context serves before a fresh one
        (0: no limit; 1: a fresh context per call, Convex's own semantics, ~3 ms slower).
        `analysis_timeout_s`: time a module may take to evaluate at import.
        `retire_after_discards`: contexts a worker may drop (each leaks ~0.5 MB in Node)
        before it is replaced. `node_workers`: processes for "use node" actions (started
        on the first). `confine`: confine the workers by the OS where it can;
        `private_dirs` (the data directory) stay unreadable to them even when a directory
        above is granted; `memory_limit_bytes`: each worker's address-space cap."""
        self._node_hint = node
        # Two per core: a worker waits on syscalls half the time (measured: 1.2x at 2 cores).
        self._udf_count = workers if workers is not None else max(2, 2 * (os.cpu_count() or 1))
        self._action_count = max(1, action_workers)
        self._node_count = max(1, node_workers)
        self._confine = confine
        self._private_dirs = tuple(private_dirs)
        self._memory_limit_bytes = memory_limit_bytes
        self._policies: dict[str, Policy | None] = {}
        self._envs: dict[str, dict[str, str]] = {}
        self._node_tmp: str | None = None
        self._node_paths: dict[str, frozenset[str]] = {}
        self._node_workers: list[Worker] = []
        self._node_start: asyncio.Task[None] | None = None
        self.confiner: Confiner | None = None
        self._max_context_uses = max_context_uses
        self._retire_after_discards = retire_after_discards
        self._analysis_timeout_s = analysis_timeout_s
        self._limits = (max_concurrent_queries, max_concurrent_mutations, max_concurrent_actions)
        self._slot_wait_s = slot_wait_s
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
        self._prepare_confinement()
        queries, mutations, actions = self._limits
        self._query_slots = Slots(queries, "query", self._slot_wait_s)
        self._mutation_slots = Slots(mutations, "mutation", self._slot_wait_s)
        self._action_slots = asyncio.Semaphore(actions)
        self._started = True
        udf = [self._new_worker("udf") for _ in range(self._udf_count)]
        action = [self._new_worker("action") for _ in range(self._action_count)]
        await asyncio.gather(*(w.start() for w in udf + action))
        self._udf_workers = udf
        self._action_workers = action
        for worker in udf:
            self._release(worker)

    def _prepare_confinement(self) -> None:
        """The policy and environment of each role (and the node workers' own /tmp)."""
        self.confiner = Confiner(
            self.node,
            [str(WORKER_SCRIPT.parent)],
            private=self._private_dirs,
            memory_bytes=self._memory_limit_bytes,
            enabled=self._confine,
        )
        self._node_tmp = tempfile.mkdtemp(prefix="bayou-node-")
        self.confiner.own(self._node_tmp, writable=True)
        confiner = self.confiner
        self._policies = {
            "udf": confiner.policy(
                "JavaScript queries and mutations", network=False, processes=False
            ),
            "action": confiner.policy("JavaScript actions", network=True, processes=False),
            "node": confiner.policy(
                '"use node" actions', network=True, processes=True, write=[self._node_tmp]
            ),
        }
        base = {"TZ": "UTC"}
        node_home = {"HOME": self._node_tmp, "TMPDIR": self._node_tmp}
        self._envs = {
            "udf": worker_environment(PASSED_ENV, base),
            "action": worker_environment(PASSED_ENV + NETWORK_ENV, base),
            "node": worker_environment((*PASSED_ENV, *NETWORK_ENV, "PATH"), {**base, **node_home}),
        }

    async def close(self) -> None:
        """Stop every worker; calls in flight fail."""
        self._closing = True
        for task in list(self._replacing):
            task.cancel()
        if self._node_start is not None:
            self._node_start.cancel()
        workers = self._udf_workers + self._action_workers + self._node_workers
        await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(InternalError("The JS runtime is shutting down"))
        if self._node_tmp is not None:
            shutil.rmtree(self._node_tmp, ignore_errors=True)

    def _new_worker(self, role: str) -> Worker:
        return Worker(
            self.node,
            role=role,
            max_context_uses=self._max_context_uses,
            retire_after_discards=self._retire_after_discards,
            on_exit=self._on_exit,
            on_retire=self._on_retire,
            policy=self._policies.get(role),
            env=self._envs.get(role),
        )

    def policy(self, role: str) -> Policy | None:
        """The OS confinement of the workers of `role` ("udf", "action", "node"); None
        when they are not confined (not Linux, or `confine=False`)."""
        return self._policies.get(role)

    def worker_pids(self) -> dict[str, list[int]]:
        """Process ids of the live workers, by role (for operators and tests)."""
        return {role: [w.pid for w in self._pool(role) if w.alive and w.pid] for role in ROLES}

    def _pool(self, role: str) -> list[Worker]:
        if role == "udf":
            return self._udf_workers
        return self._action_workers if role == "action" else self._node_workers

    async def _ensure_node_workers(self) -> None:
        """Start the "use node" workers on first need (most apps have no such module)."""
        if self._node_workers:
            return
        if self._node_start is None:
            self._node_start = asyncio.get_running_loop().create_task(self._start_node_workers())
        await asyncio.shield(self._node_start)

    async def _start_node_workers(self) -> None:
        workers = [self._new_worker("node") for _ in range(self._node_count)]
        try:
            await asyncio.gather(*(w.start() for w in workers))
        except BaseException:
            for worker in workers:
                worker.kill()
            self._node_start = None
            raise
        self._node_workers = workers

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
        modules = list(modules)
        self._node_paths[version] = frozenset(m.path for m in modules if m.environment == "node")
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
        self._node_paths.pop(version, None)

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
        node_paths = self._node_paths.get(version, frozenset())
        worker = await self._acquire()
        try:
            worker.ensure_loaded(version, load_message)
            result = await worker.analyze(
                version, env or {}, self._analysis_timeout_s, exclude=node_paths
            )
        finally:
            self._release(worker)
        if node_paths:
            # "use node" modules are evaluated where they run: on a node worker.
            await self._ensure_node_workers()
            node = self._least_busy(self._node_workers, "node")
            node.ensure_loaded(version, load_message)
            on_node = await node.analyze(
                version, env or {}, self._analysis_timeout_s, only=node_paths
            )
            result["modules"].update(on_node["modules"])
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
        if call.urgent:
            # Bounded without a slot: each urgent call holds a hot document's lock.
            worker = await self._acquire(urgent=True)
            try:
                return await worker.run(call, syscalls, load_message)
            finally:
                self._release(worker)
        slots = self._query_slots if call.udf_type == "query" else self._mutation_slots
        await slots.acquire()
        try:
            worker = await self._acquire()
            try:
                return await worker.run(call, syscalls, load_message)
            finally:
                self._release(worker)
        finally:
            slots.release()

    def _require_started(self) -> None:
        if not self._started or self._closing:
            raise InternalError("The JS runtime is not running (call JsRuntime.start())")

    async def _run_action(
        self, call: Invocation, syscalls: SyscallHandler, load_message: bytes
    ) -> InvocationResult:
        if call.module_path in self._node_paths.get(call.version, ()):
            await self._ensure_node_workers()
            worker = self._least_busy(self._node_workers, "node")
        else:
            worker = self._least_busy(self._action_workers, "action")
        try:
            return await worker.run(call, syscalls, load_message)
        finally:
            if worker.retiring and not worker.calls:
                self._swap_later(worker)

    @staticmethod
    def _least_busy(pool: list[Worker], role: str) -> Worker:
        live = [w for w in pool if w.alive]
        if not live:
            raise InternalError(f"No JS {role} worker is running")
        fresh = [w for w in live if not w.retiring] or live
        return min(fresh, key=lambda w: len(w.calls))

    # --- the udf worker pool ------------------------------------------------------------

    async def _acquire(self, *, urgent: bool = False) -> Worker:
        """An idle worker, or the next one released (urgent calls are served first)."""
        while self._idle:
            worker = self._idle.popleft()
            if worker.alive:
                return worker
        waiter: asyncio.Future[Worker] = asyncio.get_running_loop().create_future()
        if urgent:
            self._waiters.appendleft(waiter)
        else:
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
        elif worker.role != "udf" and not worker.calls:
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
        pool = self._pool(old.role)
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
