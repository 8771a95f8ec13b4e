"""`start_eagerly`: a coroutine runs at once, and a task carries it on only if it waits —
with what a task would give it: the awaited futures' results and errors, a turn of the
loop for a bare yield, and cancellation."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from bayou.eager import start_eagerly

current = contextvars.ContextVar("current", default="unset")


async def test_a_coroutine_that_never_waits_finishes_without_a_task() -> None:
    seen: list[str] = []

    async def work() -> None:
        seen.append(current.get())

    context = contextvars.copy_context()
    context.run(current.set, "caller's")
    assert start_eagerly(work(), context) is None
    assert seen == ["caller's"]


async def test_a_coroutine_that_waits_is_carried_on_by_a_task_in_its_context() -> None:
    gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def work() -> int:
        steps.append("before")
        value = await gate
        steps.append(current.get())
        return value * 2

    context = contextvars.copy_context()
    context.run(current.set, "kept")
    task = start_eagerly(work(), context)
    assert task is not None and steps == ["before"]
    gate.set_result(21)
    assert await task == 42
    assert steps == ["before", "kept"]


async def test_the_awaited_futures_error_reaches_the_coroutine() -> None:
    gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def work() -> str:
        try:
            await gate
        except KeyError as e:
            return f"handled {e}"
        return "not raised"

    task = start_eagerly(work(), contextvars.copy_context())
    assert task is not None
    gate.set_exception(KeyError("k"))
    assert await task == "handled 'k'"


async def test_a_bare_yield_gives_the_loop_a_turn() -> None:
    order: list[str] = []

    async def work() -> None:
        order.append("work starts")
        await asyncio.sleep(0)
        order.append("work resumes")

    asyncio.get_running_loop().call_soon(order.append, "other callback")
    task = start_eagerly(work(), contextvars.copy_context())
    assert task is not None
    await task
    assert order == ["work starts", "other callback", "work resumes"]


@pytest.mark.parametrize("waits_on", ["future", "bare yield"])
async def test_cancelling_the_task_cancels_the_coroutine_where_it_waits(waits_on: str) -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    outcome: list[str] = []

    async def work() -> None:
        try:
            if waits_on == "future":
                await gate
            else:
                while True:
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            outcome.append("cancelled inside")
            raise

    task = start_eagerly(work(), contextvars.copy_context())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == ["cancelled inside"]


async def test_an_error_before_the_first_wait_reaches_the_caller() -> None:
    async def work() -> None:
        raise ValueError("at once")

    with pytest.raises(ValueError, match="at once"):
        start_eagerly(work(), contextvars.copy_context())
