"""Call slots: at most `n` calls of a kind at once, admitted in order — except urgent calls
(whose transactions hold hot documents' admission locks, so other mutations wait on
them), which go before every waiting call. A call that waits longer than the slots'
`timeout_s` is refused with Convex's `TooManyConcurrentRequests` (Convex waits 5 s for a
permit: `APPLICATION_FUNCTION_RUNNER_SEMAPHORE_TIMEOUT`), so that an overloaded server
answers at once instead of letting requests time out in a queue that only grows."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from bayou.errors import RateLimited

WAIT_LIMIT_S = 5.0


def too_many(limit: int, kind: str) -> RateLimited:
    """Convex's words for a call that found every slot of its kind taken for too long."""
    return RateLimited(
        f"Too many concurrent requests. Your backend is limited to {limit} concurrent "
        f"{kind}s. Raise it with APPLICATION_MAX_CONCURRENT_{kind.upper()}S if the "
        "machine has room, or spread the load.",
        code="TooManyConcurrentRequests",
    )


class Slots:
    """A semaphore whose waiters are served first-come, urgent ones first."""

    def __init__(self, n: int, kind: str = "call", timeout_s: float | None = None) -> None:
        self.limit = n
        self.kind = kind
        self.timeout_s = timeout_s
        self._free = n
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self, *, urgent: bool = False) -> None:
        """Take a slot; raises `RateLimited` after waiting `timeout_s` (urgent calls wait
        as long as it takes: other calls wait on them)."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if urgent:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        try:
            if self.timeout_s is None or urgent:
                await waiter
            else:
                await asyncio.wait_for(asyncio.shield(waiter), self.timeout_s)
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return  # admitted as the time ran out
            waiter.cancel()
            self._forget(waiter)
            raise too_many(self.limit, self.kind) from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # admitted, but the caller is gone: pass the slot on
            else:
                self._forget(waiter)
            raise

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        # A release may have dropped it already (it skips waiters that are done).
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1
