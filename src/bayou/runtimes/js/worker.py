"""The host side of one Node worker process (`worker.mjs`, whose header documents the line
protocol): spawning it, writing requests, routing each call's syscall batches to that
call's handler, and enforcing time limits.

Queries and mutations: the worker runs one top-level call at a time (plus the calls it
makes with `ctx.runQuery`/`runMutation`, on the same worker). Each time the host hands a
call control (its `call` or a `ret` message) a watchdog is armed for the JS time the call
has left (the worker reports the time used, `u`, in every message); a message back
disarms it. An overrun means user code never yielded — an infinite loop — and the only
way to stop it without V8's per-pump watchdog thread is to kill the process: the call
fails with Convex's timeout error and the pool starts a replacement.

Actions: many per worker; past its deadline an action is cancelled with a `cancel`
message, and if the worker does not answer (its event loop is stuck) it is killed.

Messages (one JSON object a line; worker.mjs has the details):
    host → worker   load · unload · analyze · call · ret (syscall results) · cancel · ping
    worker → host   ready · sys (a batch of syscalls) · done · analyzed · retire · pong
A worker that leaked many vm contexts (Node never frees a context that had an ES module)
sends `retire`; the pool replaces it once it is idle.

Roles: "udf" (queries and mutations), "action" (isolate actions) and "node" ("use node"
actions). Every role but "node" runs Node with its intrinsics frozen and code generation
from strings disallowed (`HARDENED_FLAGS`; worker.mjs hardens the rest), and every role
starts through the OS confinement launcher (`bayou.runtimes.confinement`) when the
runtime gives a policy: its own user, Landlock, seccomp, an address-space cap, and death
with the server.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import signal
from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bayou.eager import start_eagerly
from bayou.errors import ConvexError, InternalError
from bayou.runtimes.confinement import Policy, launcher_command
from bayou.runtimes.js.analysis import AnalysisError
from bayou.runtimes.js.invocation import (
    Invocation,
    InvocationResult,
    SyscallHandler,
    deferred_write,
)
from bayou.values.json import encode_int64, to_json

WORKER_SCRIPT = Path(__file__).with_name("worker.mjs")
WATCHDOG_GRACE_S = 0.05
PROBE_GRACE_S = 1.0  # how long a worker past a call's deadline has to answer a ping
CANCEL_GRACE_S = 2.0
# Evaluating the app's modules in a fresh realm is not charged to the call that triggered
# it; the watchdog allows this much for it (as push analysis allows a module).
EVALUATION_ALLOWANCE_S = 10.0
READY_TIMEOUT_S = 30.0
MAX_VERSIONS_PER_WORKER = 24  # the app and its component definitions, and older pushes
NODE_FLAGS = ("--experimental-vm-modules", "--no-warnings")
# Function code of queries, mutations and isolate actions may reach a host object (a Web
# API's constructor chain): the host's Function and eval refuse strings and its
# intrinsics are frozen, so such an object yields neither new code nor a prototype to
# poison. "use node" actions are Node by design (npm packages use `new Function`).
HARDENED_FLAGS = ("--disallow-code-generation-from-strings", "--frozen-intrinsics")
# V8 stops the process ("JavaScript heap out of memory") past this heap, well inside the
# address-space cap of a confined worker.
HEAP_FRACTION_OF_CAP = 0.5

logger = logging.getLogger("bayou.runtimes.js")


@dataclass(eq=False)
class CallState:
    """A call in flight on a worker."""

    id: int
    invocation: Invocation
    handler: SyscallHandler
    worker: Worker
    future: asyncio.Future[InvocationResult]
    qm: bool  # a query or mutation (one JS thread, watchdog) rather than an action
    limit_ms: float
    used_ms: float = 0.0
    batches: deque[list[Any]] = field(default_factory=deque)
    processing: bool = False
    blockers: set[asyncio.Task[None]] = field(default_factory=set)
    result: InvocationResult | None = None
    deadline: asyncio.TimerHandle | None = None
    deferred_failure: BaseException | None = None  # a deferred write failed (see _answer_batches)


# The call whose syscall is being answered: `JsRuntime.invoke` reads it to run nested calls
# (ctx.runQuery from a mutation) on the worker of their parent.
ACTIVE_CALL: contextvars.ContextVar[CallState | None] = contextvars.ContextVar(
    "bayou_js_active_call", default=None
)


def timeout_message(limit_s: float) -> str:
    """Convex's words for a function past its limit (Rust prints 1s, 1.5s, 600s)."""
    return f"Function execution timed out (maximum duration: {limit_s:g}s)"


def _rejection(exc: BaseException) -> dict[str, Any]:
    """How an exception of the syscall handler reaches JS: a message and ConvexError data."""
    data_json = getattr(exc, "data_json", None)
    if data_json is None and isinstance(exc, ConvexError):
        try:
            data_json = orjson.dumps(to_json(exc.data)).decode()
        except Exception:
            data_json = None
    message = getattr(exc, "message", None)
    if not isinstance(message, str) or not message:
        if isinstance(exc, ConvexError):
            message = exc.data if isinstance(exc.data, str) else (data_json or "ConvexError")
        else:
            message = str(exc) or type(exc).__name__
    return {"message": message, "data": data_json}


class _Pipe(asyncio.SubprocessProtocol):
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.out = bytearray()
        self.err = bytearray()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            buf = self.out
            buf += data
            start = 0
            on_message = self.worker.on_message
            while (end := buf.find(b"\n", start)) != -1:
                if end > start:
                    on_message(orjson.loads(memoryview(buf)[start:end]))
                start = end + 1
            del buf[:start]
        else:
            self.err += data
            *lines, rest = self.err.split(b"\n")
            self.err = bytearray(rest)
            for line in lines:
                if b"JavaScript heap out of memory" in line:
                    self.worker._out_of_memory = True
                logger.warning("JS worker %s: %s", self.worker.pid, line.decode(errors="replace"))

    def process_exited(self) -> None:
        self.worker.on_exit()


class Worker:
    """One Node process running worker.mjs."""

    def __init__(
        self,
        node: str,
        *,
        role: str,
        max_context_uses: int = 0,
        retire_after_discards: int = 100,
        on_exit: Callable[[Worker], None] | None = None,
        on_retire: Callable[[Worker], None] | None = None,
        policy: Policy | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.node = node
        self.role = role  # "udf" (queries and mutations), "action" (isolate) or "node"
        self.policy = policy  # OS confinement (None: the process is not confined)
        self.env = {"TZ": "UTC"} if env is None else env
        self.max_context_uses = max_context_uses
        self.retire_after_discards = retire_after_discards
        self._on_exit_callback = on_exit
        self._on_retire_callback = on_retire
        self.retiring = False  # it asked to be replaced (leaked contexts); no new calls
        self.closing = False
        self.pid: int | None = None
        self.alive = False
        self.ready = False  # it said `ready`: exits after this are crashes worth replacing
        self.calls: dict[int, CallState] = {}
        self.loaded: OrderedDict[str, None] = OrderedDict()
        self._analyses: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._pings: dict[int, asyncio.Future[None]] = {}
        self._next_id = 1
        self._transport: asyncio.SubprocessTransport | None = None
        self._stdin: Any = None
        self._ready: asyncio.Future[None] | None = None
        self._watch: asyncio.TimerHandle | None = None
        self._watched: CallState | None = None
        self._deadline: float | None = None
        # A ping sent past a call's deadline: (its id, the call, the timer that kills).
        self._probing: tuple[int, CallState, asyncio.TimerHandle] | None = None
        self._overrun: CallState | None = None
        self._stop_reason: str | None = None
        self._out_of_memory = False  # V8 said so on stderr before it aborted
        self._exited = asyncio.Event()

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn the process and wait for its `ready`."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._ready = loop.create_future()
        transport, _ = await loop.subprocess_exec(
            lambda: _Pipe(self),
            *self.command(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # Only what Node needs (runtime.py builds it): never the server's secrets.
            env=self.env,
            # Its own session: a Ctrl-C in the terminal (SIGINT to the foreground process
            # group) reaches only the server, which stops the workers in order. The worker
            # still ends with the server: its stdin closes.
            start_new_session=True,
        )
        self._transport = transport
        self._stdin = transport.get_pipe_transport(0)
        self.pid = transport.get_pid()
        self.alive = True
        try:
            await asyncio.wait_for(self._ready, READY_TIMEOUT_S)
        except TimeoutError:
            self.kill()
            raise InternalError(f"The JS worker ({self.node}) did not start") from None

    def command(self) -> list[str]:
        """The worker's command line: Node with its role's flags, through the confinement
        launcher when there is a policy."""
        flags = [*NODE_FLAGS, *(HARDENED_FLAGS if self.role != "node" else ())]
        memory_mb = self.memory_limit_mb
        if memory_mb:
            flags.append(f"--max-old-space-size={int(memory_mb * HEAP_FRACTION_OF_CAP)}")
        argv = [
            self.node,
            *flags,
            str(WORKER_SCRIPT),
            f"--role={self.role}",
            f"--max-context-uses={self.max_context_uses}",
            f"--retire-after-discards={self.retire_after_discards}",
            f"--memory-limit-mb={memory_mb}",
        ]
        return argv if self.policy is None else launcher_command(self.policy, argv)

    @property
    def memory_limit_mb(self) -> int:
        """The address-space cap of the process, in MiB (0: none)."""
        return 0 if self.policy is None else self.policy.memory_bytes >> 20

    def kill(self) -> None:
        """Stop the process at once (SIGKILL); its calls fail as crashed."""
        if self._transport is not None and self.alive:
            try:
                self._transport.kill()
            except ProcessLookupError:
                pass

    async def close(self) -> None:
        """Let the process exit (end of stdin); kill it if it does not."""
        if self._transport is None:
            return
        self.closing = True
        if self.alive:
            self._stdin.close()
            try:
                await asyncio.wait_for(self._exited.wait(), 2.0)
            except TimeoutError:
                self.kill()
                await self._exited.wait()
        self._transport.close()

    def on_exit(self) -> None:
        """The process is gone: fail what was in flight, tell the pool."""
        self.alive = False
        self._exited.set()
        self._disarm()
        code = self._transport.get_returncode() if self._transport else None
        for state in list(self.calls.values()):
            self._settle(state, self._exit_result(state, code))
        self.calls.clear()
        for fut in self._analyses.values():
            if not fut.done():
                fut.set_exception(AnalysisError(f"Analysis failed: the JS worker exited ({code})"))
        self._analyses.clear()
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(InternalError(f"The JS worker exited at start ({code})"))
        if self._on_exit_callback is not None and self.ready and not self.closing:
            self._on_exit_callback(self)

    def _exit_result(self, state: CallState, code: int | None) -> InvocationResult:
        if state is self._overrun:
            return InvocationResult(
                ok=False,
                error_message=timeout_message(state.limit_ms / 1000),
                timed_out=True,
                user_time_ms=state.limit_ms,
            )
        if self._out_of_memory or code == -signal.SIGABRT:
            # V8 aborts the process when its heap is full (or the address-space cap
            # refuses an allocation it cannot do without): Convex's words for it.
            limit = self.memory_limit_mb or "unknown"
            return InvocationResult(
                ok=False,
                error_message=(
                    f"JavaScript execution ran out of memory (maximum memory usage: {limit} MB)"
                ),
                user_time_ms=state.used_ms,
                system_error=True,
            )
        if self._stop_reason is not None:
            why = self._stop_reason
        elif code is not None and code < 0:
            why = f"it was killed ({signal.Signals(-code).name})"
        else:
            why = f"it exited with code {code}"
        return InvocationResult(
            ok=False,
            error_message=f"Uncaught Error: The JavaScript worker running this function stopped: {why}.",
            user_time_ms=state.used_ms,
            system_error=True,
        )

    # --- sending ------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if self.alive:
            self._stdin.write(data)

    def ensure_loaded(self, version: str, load_message: bytes) -> None:
        """Send the module set `version` unless this worker holds it already."""
        if version in self.loaded:
            self.loaded.move_to_end(version)
            return
        self._send(load_message)
        self.loaded[version] = None
        while len(self.loaded) > MAX_VERSIONS_PER_WORKER:
            old, _ = self.loaded.popitem(last=False)
            self._send(orjson.dumps({"t": "unload", "v": old}) + b"\n")

    async def run(
        self, inv: Invocation, handler: SyscallHandler, load_message: bytes
    ) -> InvocationResult:
        """Run one call on this worker; never raises for user errors or crashes."""
        if not self.alive:
            return InvocationResult(
                ok=False,
                error_message="Uncaught Error: The JavaScript worker for this function stopped.",
                system_error=True,
            )
        self.ensure_loaded(inv.version, load_message)
        call_id = self._next_id
        self._next_id += 1
        qm = inv.udf_type != "action"
        limit_ms = inv.limit_s * 1000.0
        state = CallState(call_id, inv, handler, self, self._loop.create_future(), qm, limit_ms)
        self.calls[call_id] = state
        snapshot = None if inv.snapshot_ts is None else {"$integer": encode_int64(inv.snapshot_ts)}
        message: dict[str, Any] = {
            "t": "call",
            "id": call_id,
            "v": inv.version,
            "kind": inv.udf_type,
            "path": inv.module_path,
            "name": inv.export_name,
            "args": inv.args_json,
            "env": inv.env,
            "seed": inv.seed,
            "now": inv.now_ms,
            "tables": inv.table_numbers,
            "rid": inv.request_id,
            "limit": limit_ms,
            "snap": snapshot,
            "dw": 1 if inv.defer_writes else 0,
        }
        if inv.read_ahead:
            message["pre"] = inv.read_ahead
        self._send(orjson.dumps(message) + b"\n")
        if qm:
            self._hand_control(state)
        else:
            state.deadline = self._loop.call_later(inv.limit_s, self._cancel_action, state)
        try:
            return await state.future
        except asyncio.CancelledError:
            if not qm:
                # The caller is gone (an HTTP client disconnected): stop the action.
                if state.deadline is not None:
                    state.deadline.cancel()
                self._cancel_action(state, "Client disconnected")
            raise

    async def ping(self) -> None:
        """One round trip through the worker's event loop (health checks, measurements)."""
        request_id = self._next_id
        self._next_id += 1
        fut: asyncio.Future[None] = self._loop.create_future()
        self._pings[request_id] = fut
        self._send(b'{"t":"ping","id":%d}\n' % request_id)
        await fut

    async def analyze(
        self,
        version: str,
        env: dict[str, str],
        timeout_s: float,
        *,
        only: Collection[str] | None = None,
        exclude: Collection[str] = (),
    ) -> dict[str, Any]:
        """The worker's analysis result of a loaded module set (raises AnalysisError):
        of its modules `only` (default all), less those in `exclude`."""
        request_id = self._next_id
        self._next_id += 1
        fut: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._analyses[request_id] = fut
        message: dict[str, Any] = {"t": "analyze", "id": request_id, "v": version, "env": env}
        if only is not None:
            message["only"] = sorted(only)
        if exclude:
            message["skip"] = sorted(exclude)
        self._send(orjson.dumps({**message, "timeout": timeout_s * 1000}) + b"\n")
        modules = max(1, len(self.loaded))
        try:
            return await asyncio.wait_for(fut, timeout_s * 50 * modules + 10)
        except TimeoutError:
            self.kill()
            raise AnalysisError("Analysis of the pushed modules did not finish in time") from None

    # --- receiving ----------------------------------------------------------------------

    def on_message(self, msg: dict[str, Any]) -> None:
        """One line from the worker."""
        kind = msg["t"]
        if kind == "sys":
            state = self.calls.get(msg["id"])
            if state is not None:
                self._on_syscalls(state, msg)
        elif kind == "done":
            state = self.calls.pop(msg["id"], None)
            if state is not None:
                self._on_done(state, msg)
        elif kind == "analyzed":
            fut = self._analyses.pop(msg["id"], None)
            if fut is not None and not fut.done():
                if msg["ok"]:
                    fut.set_result(msg["result"])
                else:
                    fut.set_exception(AnalysisError(msg["message"], code=msg.get("code")))
        elif kind == "evaluating":
            state = self.calls.get(msg["id"])
            if state is not None and self._watched is state:
                self._end_probe()
                self._deadline = (self._deadline or self._loop.time()) + EVALUATION_ALLOWANCE_S
        elif kind == "retire":
            self.retiring = True
            if self._on_retire_callback is not None:
                self._on_retire_callback(self)
        elif kind == "pong":
            ping = self._pings.pop(msg["id"], None)
            if ping is not None and not ping.done():
                ping.set_result(None)
            elif ping is None:
                self._on_probe_answer(msg["id"])
        elif kind == "ready":
            self.ready = True
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(None)

    def _on_syscalls(self, state: CallState, msg: dict[str, Any]) -> None:
        state.used_ms = msg["u"]
        if state.qm:
            batch = msg["b"]
            # JS keeps control while it awaits nothing of this batch (deferred writes,
            # notices): the watchdog stays armed.
            if any(entry[0] > 0 for entry in batch):
                self._disarm(state)
            state.batches.append(batch)
            if not state.processing:
                state.processing = True
                self._start(state, self._answer_batches(state), blocks=True)
        else:
            for sid, op, args in msg["b"]:
                self._start(state, self._answer_one(state, sid, op, args), blocks=sid == 0)

    def _start(self, state: CallState, coro: Coroutine[Any, Any, None], *, blocks: bool) -> None:
        """Run `coro` with `state` as the active call; eagerly, a task only if it waits."""
        context = contextvars.copy_context()
        context.run(ACTIVE_CALL.set, state)
        task = start_eagerly(coro, context)
        if task is not None and blocks:
            state.blockers.add(task)
            task.add_done_callback(state.blockers.discard)

    async def _answer_batches(self, state: CallState) -> None:
        """Answer a query's or mutation's batches in order (they share one transaction).

        Syscall ids: > 0 awaits an answer; 0 is a notice; < 0 a deferred write, which the
        worker resolved already: it is answered only by failing, and then the attempt is
        void (`deferred_write_failed`) and nothing after it is run."""
        handler = state.handler
        try:
            while state.batches:
                batch = state.batches.popleft()
                results = []
                for sid, op, args in batch:
                    if state.deferred_failure is not None:
                        if sid > 0:
                            results.append([sid, 0, _rejection(state.deferred_failure)])
                        continue
                    if sid > 0 and state.result is not None:
                        continue  # the call returned without awaiting this syscall
                    try:
                        if sid < 0:
                            await deferred_write(handler, op, args)
                            continue
                        value = await handler.async_syscall(op, args)
                        if sid > 0:
                            results.append([sid, 1, value])
                    except Exception as exc:
                        if sid > 0:
                            results.append([sid, 0, _rejection(exc)])
                        elif sid < 0:
                            state.deferred_failure = exc
                        else:
                            logger.warning("%s failed: %s", op, exc)
                if results and state.result is None and self.alive:
                    self._send_results(state, results)
        finally:
            state.processing = False

    async def _answer_one(self, state: CallState, sid: int, op: str, args: Any) -> None:
        """Answer one syscall of an action (an action's syscalls run concurrently)."""
        if sid and state.result is not None:
            return
        try:
            payload = [sid, 1, await state.handler.async_syscall(op, args)]
        except Exception as exc:
            if not sid:
                logger.warning("%s failed: %s", op, exc)
            payload = [sid, 0, _rejection(exc)]
        if sid and state.result is None and self.alive:
            self._send_results(state, [payload])

    def _send_results(self, state: CallState, results: list[Any]) -> None:
        try:
            data = orjson.dumps({"t": "ret", "id": state.id, "r": results})
        except TypeError as exc:
            bad = {"message": f"Bayou: a syscall result is not JSON: {exc}", "data": None}
            data = orjson.dumps(
                {"t": "ret", "id": state.id, "r": [[r[0], 0, bad] for r in results]}
            )
        self._send(data + b"\n")
        if state.qm:
            self._hand_control(state)

    def _on_done(self, state: CallState, msg: dict[str, Any]) -> None:
        self._disarm(state)
        if state.deadline is not None:
            state.deadline.cancel()
        if msg["ok"]:
            result = InvocationResult(
                ok=True,
                value_json=msg["value"],
                log_lines=msg["logs"],
                user_time_ms=msg["u"],
                read_ahead_used=msg.get("ra", 0),
            )
        else:
            error = msg["error"]
            result = InvocationResult(
                ok=False,
                error_message=error["message"],
                error_data_json=error["data"],
                log_lines=msg["logs"],
                timed_out=msg.get("timeout", False),
                user_time_ms=msg["u"],
                read_ahead_used=msg.get("ra", 0),
            )
        state.result = result
        if state.blockers:
            # Notices (1.0/queryCleanup) reach the handler before the caller sees the result.
            self._loop.create_task(self._settle_after(state, result))
        else:
            self._settle(state, result)

    async def _settle_after(self, state: CallState, result: InvocationResult) -> None:
        await asyncio.gather(*list(state.blockers), return_exceptions=True)
        self._settle(state, result)

    def _settle(self, state: CallState, result: InvocationResult) -> None:
        if state.deferred_failure is not None:
            result.deferred_write_failed = True
        state.result = result
        if state.deadline is not None:
            state.deadline.cancel()
        if not state.future.done():
            state.future.set_result(result)

    # --- time limits --------------------------------------------------------------------

    # One timer per worker, re-armed lazily: handing control only moves `_deadline` (a
    # float), and the timer, when it fires, re-arms itself for a deadline still ahead.
    # Timer churn on every syscall would cost more than the rest of the host's work.

    def _hand_control(self, state: CallState) -> None:
        remaining_s = max(0.0, state.limit_ms - state.used_ms) / 1000.0
        deadline = self._loop.time() + remaining_s + WATCHDOG_GRACE_S
        self._watched = state
        self._deadline = deadline
        if self._watch is None:
            self._watch = self._loop.call_at(deadline, self._check_deadline)
        elif self._watch.when() > deadline:
            self._watch.cancel()
            self._watch = self._loop.call_at(deadline, self._check_deadline)

    def _disarm(self, state: CallState | None = None) -> None:
        if state is None or self._watched is state:
            self._deadline = None
            self._watched = None
            self._end_probe()
            if state is None and self._watch is not None:
                self._watch.cancel()
                self._watch = None

    def _check_deadline(self) -> None:
        self._watch = None
        if self._deadline is None:
            return
        if self._loop.time() < self._deadline:
            self._watch = self._loop.call_at(self._deadline, self._check_deadline)
            return
        self._probe()

    # Past the deadline on the host's clock, the worker is asked before it is killed: a
    # host that stalled (a busy event loop, a paused machine) finds the call's message
    # waiting in the pipe, ahead of the answer to the probe, and the call goes on. Only a
    # worker that cannot answer — its one thread stuck in user code — is killed.

    def _probe(self) -> None:
        state = self._watched
        if state is None or state.result is not None or not self.alive:
            return
        probe_id = self._next_id
        self._next_id += 1
        timer = self._loop.call_later(PROBE_GRACE_S, self._probe_unanswered, probe_id)
        self._probing = (probe_id, state, timer)
        self._send(b'{"t":"ping","id":%d}\n' % probe_id)

    def _end_probe(self) -> None:
        if self._probing is not None:
            self._probing[2].cancel()
            self._probing = None

    def _on_probe_answer(self, probe_id: int) -> None:
        """The worker answered: its thread is free, so the call is not running away."""
        if self._probing is None or self._probing[0] != probe_id:
            return
        state = self._probing[1]
        self._end_probe()
        if self._watched is state and state.result is None:
            self._hand_control(state)  # still its turn: watch what is left of its limit

    def _probe_unanswered(self, probe_id: int) -> None:
        if self._probing is None or self._probing[0] != probe_id:
            return
        state = self._probing[1]
        self._probing = None
        if self._watched is state:
            self._on_overrun()

    def _on_overrun(self) -> None:
        state = self._watched
        if state is None or state.result is not None or not self.alive:
            return
        logger.warning(
            "JS worker %s: %s ran past its %gs limit; killing the worker",
            self.pid,
            state.invocation.path,
            state.limit_ms / 1000,
        )
        self._overrun = state
        self._stop_reason = "a function it called ran past its time limit"
        self.kill()

    def _cancel_action(self, state: CallState, message: str | None = None) -> None:
        if state.result is not None or not self.alive:
            return
        message = message or timeout_message(state.limit_ms / 1000)
        self._send(orjson.dumps({"t": "cancel", "id": state.id, "message": message}) + b"\n")
        state.deadline = self._loop.call_later(CANCEL_GRACE_S, self._kill_stuck, state)

    def _kill_stuck(self, state: CallState) -> None:
        if state.result is None and self.alive:
            logger.warning("JS worker %s does not answer; killing it", self.pid)
            self._overrun = state
            self._stop_reason = "another action on it stopped responding past its time limit"
            self.kill()
