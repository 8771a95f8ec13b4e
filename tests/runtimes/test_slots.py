"""Call slots: a limit on calls at once, waiting calls admitted in order, urgent first."""

from __future__ import annotations

import asyncio

import pytest

from bayou.errors import RateLimited
from bayou.runtimes.slots import Slots


async def test_waiting_calls_are_admitted_in_order_and_urgent_ones_first() -> None:
    slots = Slots(1)
    await slots.acquire()
    admitted: list[str] = []

    async def call(name: str, urgent: bool = False) -> None:
        await slots.acquire(urgent=urgent)
        admitted.append(name)

    tasks = [asyncio.ensure_future(call("a")), asyncio.ensure_future(call("b"))]
    await asyncio.sleep(0)
    tasks.append(asyncio.ensure_future(call("hot", urgent=True)))
    await asyncio.sleep(0)
    for _ in range(3):
        slots.release()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert admitted == ["hot", "a", "b"]


async def test_a_cancelled_waiter_gives_up_its_place_and_a_cancelled_admission_its_slot() -> None:
    slots = Slots(1)
    await slots.acquire()
    gone = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    slots.release()  # nobody waits: the slot is free again
    await asyncio.wait_for(slots.acquire(), 1)
    admitted = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # hands the slot to `admitted`…
    admitted.cancel()  # …whose caller left before it ran: the slot passes on
    await asyncio.sleep(0)
    await asyncio.wait_for(slots.acquire(), 1)


async def test_a_call_that_waits_too_long_is_refused_with_convex_s_error() -> None:
    slots = Slots(1, "mutation", timeout_s=0.05)
    await slots.acquire()
    with pytest.raises(RateLimited) as refused:
        await slots.acquire()
    assert refused.value.code == "TooManyConcurrentRequests"
    assert refused.value.status == 429
    assert refused.value.message.startswith(
        "Too many concurrent requests. Your backend is limited to 1 concurrent mutations."
    )
    # An urgent call (holding hot documents' locks) waits as long as it takes.
    urgent = asyncio.ensure_future(slots.acquire(urgent=True))
    await asyncio.sleep(0.1)
    assert not urgent.done()
    slots.release()
    await asyncio.wait_for(urgent, 1)
    # The refused call left nothing behind: a release frees the slot for the next one.
    slots.release()
    await asyncio.wait_for(slots.acquire(), 1)


async def test_a_waiter_cancelled_as_a_slot_is_released_leaves_the_slot_free() -> None:
    slots = Slots(1)
    await slots.acquire()
    waiting = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)
    waiting.cancel()  # its future is cancelled at once…
    slots.release()  # …and this release skips it before its task has run again
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.wait_for(slots.acquire(), 1)
