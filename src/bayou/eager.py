"""Run a coroutine at once, and make a task of it only if it has to wait.

Answering a syscall usually completes without suspending (an in-memory read or write of
the open transaction), and so does a sync session's update when a fan-out finds the new
result cached. Creating a task for each would cost a task object and two trips around
the event loop on the hottest paths; Python 3.12's eager tasks do what this does, but
Bayou supports 3.11.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any


def start_eagerly(
    coro: Coroutine[Any, Any, Any], context: contextvars.Context
) -> asyncio.Task[Any] | None:
    """Step `coro` in `context` until it first suspends; None when it finished already,
    else the task that carries it on (in the same context). Exceptions it raises while
    running eagerly propagate to the caller."""
    try:
        awaited = context.run(coro.send, None)
    except StopIteration:
        return None
    loop = asyncio.get_running_loop()
    return loop.create_task(_carry_on(coro, awaited), context=context)


async def _carry_on(coro: Coroutine[Any, Any, Any], awaited: Any) -> Any:
    # What a Task does for a coroutine: wait for the future it yielded, then resume it;
    # the coroutine's own `await` reads the future's result or exception. A bare `yield`
    # (asyncio.sleep(0)) gives the loop one turn. A cancellation of this task that did
    # not cancel the awaited future is thrown into the coroutine, as a Task would.
    while True:
        error: BaseException | None = None
        try:
            if awaited is None:
                await asyncio.sleep(0)
            else:
                awaited._asyncio_future_blocking = False
                await awaited
        except asyncio.CancelledError as cancelled:
            if awaited is None or not awaited.cancelled():
                error = cancelled
        except BaseException:
            pass
        try:
            awaited = coro.send(None) if error is None else coro.throw(error)
        except StopIteration as stop:
            return stop.value
