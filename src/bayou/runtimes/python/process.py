"""One Python worker process seen from the host: spawn it, run a call or an analysis on
it, answer its syscalls, and kill it when it overruns its time.

The host's watchdog is the backstop of the worker's own `SIGALRM` limit: queries and
mutations get `limit − user time so far + grace` whenever the worker has control (it is
disarmed while the host answers a syscall), actions `limit + grace` from the start. A
worker that overruns it, crashes or asks to retire is discarded by the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
from collections.abc import Callable
from typing import Any, Final

from bayou.errors import BayouError, ConvexError, OccError
from bayou.runtimes.base import Invocation, InvocationResult, SyscallHandler, deferred_write
from bayou.runtimes.python.frames import decode, encode
from bayou.values import json as vjson
from bayou.values import to_value

READY_TIMEOUT_S: Final = 60.0
_EOF: Final = object()


def timeout_message(limit_s: float) -> str:
    """The error of a call that ran out of time (as the worker and Convex word it)."""
    return f"Function execution timed out (maximum duration: {limit_s:g}s)"


class WorkerCrashed(Exception):
    """The worker exited (or never became ready)."""


class _FrameReader(asyncio.Protocol):
    """Splits the worker's pipe into frames and queues them (then `_EOF`)."""

    def __init__(self, queue: asyncio.Queue[Any]) -> None:
        self.queue = queue
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            self.queue.put_nowait(decode(memoryview(buffer)[start:end]))
            start = end + 1
        if start:
            del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        self.queue.put_nowait(_EOF)


class _Watchdog:
    """Kills the worker if it keeps control past a deadline."""

    def __init__(self, fire: Callable[[], None]) -> None:
        self._fire = fire
        self._handle: asyncio.TimerHandle | None = None

    def arm(self, seconds: float) -> None:
        self.disarm()
        self._handle = asyncio.get_running_loop().call_later(max(seconds, 0.0), self._fire)

    def disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def error_of(exc: BaseException) -> dict[str, Any]:
    """A syscall failure as the worker receives it: `{"message", "data"}` (data: the JSON
    text of ConvexError data, when there is some)."""
    message = getattr(exc, "message", None)
    if not isinstance(message, str):
        message = str(exc) or type(exc).__name__
    data = None
    if isinstance(getattr(exc, "data_json", None), str):
        data = exc.data_json  # type: ignore[attr-defined]
    elif isinstance(exc, ConvexError):
        try:
            data = vjson.dumps(to_value(exc.data)).decode()
        except (BayouError, TypeError, ValueError):
            data = None
    return {"message": message, "data": data}


class WorkerProcess:
    """A running worker and the pipes to it."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        write: asyncio.WriteTransport,
        read: asyncio.ReadTransport,
        frames: asyncio.Queue[Any],
    ) -> None:
        self.process = process
        self._write = write
        self._read = read
        self._frames = frames
        self._ids = itertools.count(1)
        self.version: str | None = None
        self.retired = False
        self.killed = False

    @classmethod
    async def spawn(cls, python: str, env: dict[str, str], cwd: str) -> WorkerProcess:
        """Start `python -m bayou.runtimes.python.worker` and wait until it is ready."""
        loop = asyncio.get_running_loop()
        from_child, child_out = os.pipe()
        child_in, to_child = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                python,
                "-m",
                "bayou.runtimes.python.worker",
                str(child_in),
                str(child_out),
                pass_fds=(child_in, child_out),
                stdin=asyncio.subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                # Its own session: a Ctrl-C in the terminal reaches only the server, which
                # stops the workers in order; a worker still ends when its pipe closes.
                start_new_session=True,
            )
        finally:
            os.close(child_in)
            os.close(child_out)
        frames: asyncio.Queue[Any] = asyncio.Queue()
        try:
            read, _ = await loop.connect_read_pipe(
                lambda: _FrameReader(frames), os.fdopen(from_child, "rb", buffering=0)
            )
            write, _ = await loop.connect_write_pipe(
                asyncio.Protocol, os.fdopen(to_child, "wb", buffering=0)
            )
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise
        worker = cls(process, write, read, frames)
        try:
            ready = await asyncio.wait_for(frames.get(), READY_TIMEOUT_S)
        except TimeoutError:
            ready = _EOF
        except BaseException:  # cancelled while starting (the pool is closing)
            worker.kill()
            raise
        if ready is _EOF or ready.get("t") != "ready":
            worker.kill()
            await worker.wait()
            raise WorkerCrashed(
                f"The Python worker did not start (exit code {process.returncode}); see the "
                "server's stderr for its traceback"
            )
        return worker

    @property
    def alive(self) -> bool:
        return not self.killed and not self.retired and self.process.returncode is None

    def send(self, message: Any) -> None:
        if not self._write.is_closing():
            self._write.write(encode(message))

    def kill(self) -> None:
        """Kill the process now (its pipes close, so a waiting call sees the end)."""
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    async def wait(self) -> None:
        await self.process.wait()
        self._write.close()
        self._read.close()

    async def close(self) -> None:
        """Stop the worker (closing its input ends it; kill it if it lingers)."""
        self._write.close()
        try:
            await asyncio.wait_for(self.process.wait(), 2.0)
        except TimeoutError:
            self.kill()
            await self.process.wait()
        self._read.close()

    # -- a call ------------------------------------------------------------------------

    async def run(
        self,
        call: Invocation,
        syscalls: SyscallHandler,
        message: dict[str, Any],
        grace_s: float,
    ) -> InvocationResult:
        """Send `message` (a `call` frame) and serve its syscalls until it is done."""
        call_id = next(self._ids)
        message["id"] = call_id
        watchdog = _Watchdog(self.kill)
        limit = call.limit_s
        pausable = call.udf_type != "action"
        tasks: set[asyncio.Task[None]] = set()
        conflicts: list[OccError] = []
        deferred_failed: list[BaseException] = []
        self.send(message)
        watchdog.arm(limit + grace_s)
        finished = False
        try:
            while True:
                frame = await self._frames.get()
                if frame is _EOF:
                    finished = True
                    return await self._ended(call)
                kind = frame.get("t")
                if kind == "sys":
                    if not pausable:
                        self._answer_each(frame, syscalls, conflicts, tasks)
                        continue
                    watchdog.disarm()
                    await self._answer_in_order(frame, syscalls, conflicts, deferred_failed)
                    watchdog.arm(limit - float(frame.get("u") or 0.0) / 1000.0 + grace_s)
                elif kind == "done" and frame.get("id") == call_id:
                    if tasks:
                        await asyncio.gather(*tasks, return_exceptions=True)
                    finished = True
                    if conflicts:
                        raise conflicts[0]
                    if deferred_failed:
                        # User code went on past a write that failed: the attempt is void.
                        return InvocationResult(ok=False, deferred_write_failed=True)
                    return self._finished(frame)
        finally:
            watchdog.disarm()
            for task in tasks:
                task.cancel()
            if not finished:
                # Abandoned mid-call (the caller was cancelled): the worker still waits
                # for answers, so it cannot serve anyone else.
                self.kill()

    def _finished(self, frame: dict[str, Any]) -> InvocationResult:
        if frame.get("retire"):
            self.retired = True
        logs = frame.get("logs") or []
        used = frame.get("ra", 0)
        if frame.get("ok"):
            return InvocationResult(
                ok=True, value_json=frame["value"], log_lines=logs, read_ahead_used=used
            )
        error = frame.get("error") or {}
        return InvocationResult(
            ok=False,
            error_message=error.get("message") or "Uncaught Error",
            error_data_json=error.get("data"),
            log_lines=logs,
            read_ahead_used=used,
        )

    async def _ended(self, call: Invocation) -> InvocationResult:
        self.retired = True
        if self.killed:
            return InvocationResult(ok=False, error_message=timeout_message(call.limit_s))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), 5.0)
        code = self.process.returncode
        return InvocationResult(
            ok=False,
            error_message=(
                f"Uncaught Error: the Python worker running {call.path} exited unexpectedly"
                f"{f' (exit code {code})' if code is not None else ''}; it has been replaced"
            ),
        )

    async def _syscall(
        self,
        op: str,
        args: Any,
        syscalls: SyscallHandler,
        conflicts: list[OccError],
        *,
        deferred: bool = False,
    ) -> list[Any]:
        try:
            if deferred:
                await deferred_write(syscalls, op, args)
                return [1, None]
            return [1, await syscalls.async_syscall(op, args)]
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if isinstance(exc, OccError):
                conflicts.append(exc)
            return [0, error_of(exc)]

    async def _answer_in_order(
        self,
        frame: dict[str, Any],
        syscalls: SyscallHandler,
        conflicts: list[OccError],
        deferred_failed: list[BaseException],
    ) -> None:
        """Ids: > 0 awaits an answer, 0 is a notice, < 0 a deferred write (answered only
        by failing: then nothing after it runs, and the call's result is void)."""
        answers = []
        for sid, op, args in frame["b"]:
            if deferred_failed:
                if sid > 0:
                    answers.append([sid, 0, error_of(deferred_failed[0])])
                continue
            outcome = await self._syscall(op, args, syscalls, conflicts, deferred=sid < 0)
            if sid < 0 and outcome[0] == 0:
                deferred_failed.append(Exception(outcome[1].get("message")))
            elif sid > 0:
                answers.append([sid, *outcome])
        if answers:
            self._reply(frame["id"], answers)

    def _answer_each(
        self,
        frame: dict[str, Any],
        syscalls: SyscallHandler,
        conflicts: list[OccError],
        tasks: set[asyncio.Task[None]],
    ) -> None:
        for sid, op, args in frame["b"]:

            async def answer(sid: int = sid, op: str = op, args: Any = args) -> None:
                outcome = await self._syscall(op, args, syscalls, conflicts)
                if sid:
                    self._reply(frame["id"], [[sid, *outcome]])

            task = asyncio.ensure_future(answer())
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    def _reply(self, call_id: int, answers: list[list[Any]]) -> None:
        try:
            self.send({"t": "ret", "id": call_id, "r": answers})
        except TypeError as e:  # a handler returned something orjson cannot write
            print(f"bayou: unserializable syscall result: {e}", file=sys.stderr)
            fallback = [
                [a[0], 0, {"message": f"Internal error: {e}", "data": None}] for a in answers
            ]
            self.send({"t": "ret", "id": call_id, "r": fallback})

    # -- analysis ----------------------------------------------------------------------

    async def analyze(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send an `analyze` frame; the worker's `analyzed` reply (killed past the limit)."""
        message["id"] = next(self._ids)
        watchdog = _Watchdog(self.kill)
        self.send(message)
        watchdog.arm(timeout_s + 5.0)
        finished = False
        try:
            while True:
                frame = await self._frames.get()
                if frame is _EOF:
                    finished = True
                    self.retired = True
                    return {
                        "ok": False,
                        "message": "Failed to analyze: the Python worker exited while importing "
                        "the modules" + (" (it ran out of time)" if self.killed else ""),
                    }
                if frame.get("t") == "analyzed":
                    finished = True
                    if frame.get("retire"):
                        self.retired = True
                    return dict(frame)
        finally:
            watchdog.disarm()
            if not finished:
                self.kill()
