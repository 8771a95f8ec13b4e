"""The worker's end of the pipes: frames, the syscalls of the running call, its clock.

`Wire` reads and writes frames on the two descriptors the host passed. `CallChannel` is
the `Channel` the user API of one call talks to: a blocking `call` for `def` handlers; an
awaitable `acall` for `async def` ones, whose concurrent syscalls leave in one `sys` frame
once the event loop has run everything that was ready; `notify` for syscalls without an
answer, which ride along with the next frame. A mutation's writes whose result the API
ignores (patch, replace, delete) are deferred the same way, under negative ids: the host
answers one only by voiding the attempt, which it then re-runs without deferral. A
mutation may come with reads the host made ahead (`read_ahead`): while the function asks
exactly those syscalls, in that order, before anything else, they are answered here
without a round trip. `UserTimer` measures the call's user time
(time not spent waiting for syscalls) and interrupts user code at its limit with
`SIGALRM`; the host's watchdog kills the process if that does not work (a C loop).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from typing import Any, NoReturn

from bayou.runtimes.python.api.syscalls import SyscallFailed
from bayou.runtimes.python.frames import decode, encode

# Writes whose result `ctx.db` ignores (db.patch, db.replace, db.delete).
DEFERRABLE_WRITES = frozenset({"1.0/shallowMerge", "1.0/replace", "1.0/remove"})


class UserTimeout(BaseException):
    """Raised in user code when its time is up (a BaseException: `except Exception` in user
    code must not swallow it)."""


def timeout_message(limit_s: float) -> str:
    """The error of a call that ran out of time, worded as Convex words it."""
    return f"Function execution timed out (maximum duration: {limit_s:g}s)"


class Wire:
    """Frames over two pipe descriptors; reads block (or are driven by an event loop)."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.fd_in = fd_in
        self.fd_out = fd_out
        self._buffer = bytearray()

    def send(self, message: Any) -> None:
        data = memoryview(encode(message))
        while data:
            written = os.write(self.fd_out, data)
            data = data[written:]

    def _next_buffered(self) -> Any | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return decode(line)

    def read(self) -> Any | None:
        """The next frame (blocking); None when the host closed the pipe."""
        while True:
            frame = self._next_buffered()
            if frame is not None:
                return frame
            chunk = os.read(self.fd_in, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk

    def read_available(self) -> list[Any] | None:
        """The frames that arrived (one read, for a readable descriptor); None at EOF."""
        chunk = os.read(self.fd_in, 1 << 16)
        if not chunk:
            return None
        self._buffer += chunk
        frames = []
        while (frame := self._next_buffered()) is not None:
            frames.append(frame)
        return frames


class UserTimer:
    """The user time of one call against its limit; pausable for queries and mutations
    (time waiting for syscalls does not count), wall time for actions."""

    def __init__(self, limit_s: float, *, pausable: bool) -> None:
        self.limit_s = limit_s
        self.pausable = pausable
        self.running = False
        self._used = 0.0
        self._since = 0.0

    @property
    def used_ms(self) -> float:
        used = self._used + (time.perf_counter() - self._since if self.running else 0.0)
        return round(used * 1000.0, 3)

    def start(self) -> None:
        self._since = time.perf_counter()
        self.running = True
        _arm(self.limit_s - self._used)

    def stop(self) -> None:
        if self.running:
            _arm(0.0)
            self._used += time.perf_counter() - self._since
            self.running = False

    def pause(self) -> None:
        if self.pausable:
            self.stop()

    def resume(self) -> None:
        # Never raises here (this may run in an event-loop callback): an overdue call gets
        # an almost immediate alarm, which raises in user code.
        if self.pausable and not self.running:
            self._since = time.perf_counter()
            self.running = True
            _arm(max(self.limit_s - self._used, 1e-4))

    def expired(self) -> bool:
        return self._used >= self.limit_s


def _arm(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.0) if seconds > 0 else 0.0)


def _unpack(entry: list[Any]) -> Any:
    if entry[1]:
        return entry[2]
    error = entry[2] or {}
    raise SyscallFailed(str(error.get("message") or "syscall failed"), error.get("data"))


class CallChannel:
    """The syscalls of one call (see the module docstring)."""

    def __init__(
        self,
        wire: Wire,
        call_id: int,
        timer: UserTimer,
        *,
        defer_writes: bool = False,
        read_ahead: list[list[Any]] | None = None,
    ) -> None:
        self.wire = wire
        self.call_id = call_id
        self.timer = timer
        self.defer_writes = defer_writes
        # [op, args, result] of the reads made ahead, matched by their encoded JSON: the
        # exact bytes this worker would send for the syscall.
        self._read_ahead = (
            [(encode([op, args]), result) for op, args, result in read_ahead]
            if read_ahead
            else None
        )
        self._read_ahead_at = 0
        self._next_deferred = 0
        self._next_sid = 0
        self._notes: list[list[Any]] = []
        self._outbox: list[list[Any]] = []
        self._answers: dict[int, list[Any]] = {}
        self._futures: dict[int, asyncio.Future[Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush_scheduled = False

    def _sid(self) -> int:
        self._next_sid += 1
        return self._next_sid

    def _frame(self, batch: list[list[Any]]) -> dict[str, Any]:
        return {"t": "sys", "id": self.call_id, "u": self.timer.used_ms, "b": batch}

    # -- blocking --------------------------------------------------------------------

    @property
    def read_ahead_used(self) -> int:
        """How many of the reads made ahead the function used."""
        return self._read_ahead_at

    def _answered_ahead(self, op: str, args: dict[str, Any]) -> tuple[bool, Any]:
        """(True, result) when the next read made ahead is exactly this syscall; anything
        else ends the reads made ahead."""
        ahead = self._read_ahead
        if ahead is None:
            return False, None
        at = self._read_ahead_at
        if at < len(ahead) and ahead[at][0] == encode([op, args]):
            self._read_ahead_at = at + 1
            return True, ahead[at][1]
        self._read_ahead = None
        return False, None

    def _deferred(self, op: str, args: dict[str, Any]) -> bool:
        """Queue `op` as a deferred write if it is one (its result is None)."""
        if not self.defer_writes or op not in DEFERRABLE_WRITES:
            return False
        self._next_deferred -= 1
        self._notes.append([self._next_deferred, op, args])
        return True

    def call(self, op: str, args: dict[str, Any]) -> Any:
        answered, result = self._answered_ahead(op, args)
        if answered:
            return result
        if self._deferred(op, args):
            return None
        sid = self._sid()
        batch, self._notes = [*self._notes, [sid, op, args]], []
        self.timer.pause()
        try:
            self.wire.send(self._frame(batch))
            while sid not in self._answers:
                frame = self.wire.read()
                if frame is None:
                    _host_gone()
                self._dispatch(frame)
        finally:
            self.timer.resume()
        return _unpack(self._answers.pop(sid))

    def notify(self, op: str, args: dict[str, Any]) -> None:
        self._notes.append([0, op, args])

    def _dispatch(self, frame: Any) -> None:
        if frame.get("t") != "ret" or frame.get("id") != self.call_id:
            return
        for entry in frame["r"]:
            future = self._futures.pop(entry[0], None)
            if future is None:
                self._answers[entry[0]] = entry
            elif not future.done():
                try:
                    future.set_result(_unpack(entry))
                except SyscallFailed as failed:
                    future.set_exception(failed)
        if self._loop is not None and not self._futures:
            self.timer.resume()

    # -- async -----------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve `acall` on `loop` (for the duration of an async handler)."""
        self._loop = loop
        loop.add_reader(self.wire.fd_in, self._on_readable)

    def detach(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self.wire.fd_in)
            self._loop = None

    async def acall(self, op: str, args: dict[str, Any]) -> Any:
        loop = self._loop
        if loop is None:  # an async API used outside an async handler's loop
            return self.call(op, args)
        answered, result = self._answered_ahead(op, args)
        if answered:
            return result
        if self._deferred(op, args):
            return None
        sid = self._sid()
        future: asyncio.Future[Any] = loop.create_future()
        self._futures[sid] = future
        self._outbox.append([sid, op, args])
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._outbox:
            return
        batch = [*self._notes, *self._outbox]
        self._notes, self._outbox = [], []
        self.timer.pause()
        self.wire.send(self._frame(batch))

    def _on_readable(self) -> None:
        frames = self.wire.read_available()
        if frames is None:
            _host_gone()
        for frame in frames:
            self._dispatch(frame)

    # -- end -------------------------------------------------------------------------

    def finish(self) -> None:
        """Send the syscalls still waiting to go (query cleanups) before the result."""
        if self._notes:
            batch, self._notes = self._notes, []
            self.wire.send(self._frame(batch))


def _host_gone() -> NoReturn:
    # The host closed the pipe: nobody will read a result. Leave without cleanup.
    sys.stderr.flush()
    os._exit(0)
