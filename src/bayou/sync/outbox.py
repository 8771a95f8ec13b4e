"""A session's outgoing messages: sent in order, with heartbeats, and without a task of
their own.

Everything a session sends goes through its outbox, so a `MutationResponse` always leaves
before the `Transition` that reflects it. Whoever sends while the outbox is idle becomes
its drainer and sends everything queued meanwhile too, so a message usually leaves from
the task that produced it — ten thousand idle sessions cost no tasks, and a fan-out costs
no extra task switch per session. When nothing has been sent for the heartbeat interval a
timer sends a JSON `{"type":"Ping"}` (browsers hide WebSocket control pings from
JavaScript, so the clients' inactivity timers only see messages). The session builds its
next transition only once the outbox has drained: a slow client gets fewer, larger
transitions instead of an unbounded queue.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from bayou.protocol.sync_messages import PING

log = logging.getLogger("bayou.sync")


class Transport(Protocol):
    """One WebSocket, as the sync layer needs it."""

    async def receive(self) -> str | bytes | None:
        """The next message; None once the peer has gone."""
        ...

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class Outbox:
    """Ordered sending over one transport."""

    def __init__(
        self, transport: Transport, *, heartbeat_s: float, max_queued: int = 10_000
    ) -> None:
        self.transport = transport
        self.heartbeat_s = heartbeat_s
        self.max_queued = max_queued
        # Plain lists, not deques and Events: ten thousand idle sessions should be cheap.
        self._queue: list[str] = []
        self._busy = False
        self._waiters: list[asyncio.Future[None]] = []
        self._closing: tuple[int, str] | None = None
        self._drain_task: asyncio.Task[None] | None = None
        self.closed = False
        self.sent = 0
        self._loop = asyncio.get_running_loop()
        self._last_sent = self._loop.time()
        self._timer = self._loop.call_later(heartbeat_s, self._heartbeat)

    async def send(self, text: str) -> None:
        """Queue `text` and, if nobody is sending, send it (and whatever follows) now."""
        if self._enqueue(text) and not self._busy:
            await self._drain()

    def push(self, text: str) -> None:
        """`send` from synchronous code: a task drains if nobody is sending."""
        if self._enqueue(text):
            self._ensure_drainer()

    def _enqueue(self, text: str) -> bool:
        if self._closing is not None or self.closed:
            return False
        self._queue.append(text)
        if len(self._queue) > self.max_queued:
            # The client is not reading; keeping its messages would be unbounded memory.
            log.info("a sync client does not read its messages: closing its connection")
            self.finish(code=1013, reason="ClientNotReading: the client did not read its messages")
            return False
        return True

    def finish(self, final: str | None = None, *, code: int = 1000, reason: str = "") -> None:
        """Drop what is queued, send `final` (a FatalError/AuthError) if given, then close."""
        if self._closing is not None or self.closed:
            return
        self._queue.clear()
        if final is not None:
            self._queue.append(final)
        self._closing = (code, reason[:123])
        self._ensure_drainer()

    async def drained(self) -> None:
        """Wait until everything queued so far was handed to the transport."""
        if not self._busy and not self._queue:
            return
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        await waiter

    async def wait_closed(self) -> None:
        """Wait for a drain in progress (e.g. the final FatalError) to finish."""
        task = self._drain_task
        if task is not None and not task.done():
            await task

    def stop(self) -> None:
        """Stop sending for good (the session is over)."""
        self.closed = True
        self._queue.clear()
        self._timer.cancel()
        self._release_waiters()

    def _release_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _ensure_drainer(self) -> None:
        if not self._busy and (self._drain_task is None or self._drain_task.done()):
            self._drain_task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        if self._busy or self.closed:
            return
        self._busy = True
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                closing = self._closing
                for text in batch:
                    if self._closing is not closing:
                        break  # finish() dropped the rest; its final message is queued
                    await self.transport.send_text(text)
                    self.sent += 1
                    self._last_sent = self._loop.time()
            if self._closing is not None:
                code, reason = self._closing
                self.stop()
                await self.transport.close(code, reason)
        except asyncio.CancelledError:
            self.stop()
            raise
        except Exception as e:  # the peer went away mid-send: nothing more to deliver
            log.debug("sync send failed: %r", e)
            self.stop()
        finally:
            self._busy = False
            if not self._queue:
                self._release_waiters()

    def _heartbeat(self) -> None:
        if self.closed or self._closing is not None:
            return
        delay = self.heartbeat_s
        if not self._queue and not self._busy:
            idle = self._loop.time() - self._last_sent
            if idle >= self.heartbeat_s:
                self.push(PING)
            else:
                delay = self.heartbeat_s - idle
        self._timer = self._loop.call_later(delay, self._heartbeat)
