"""A mutation re-run after a conflict is answered its previous attempt's leading reads
ahead (`TransactionSyscalls.answer_ahead`): at the re-run's own snapshot, and never in
place of a different read. The fake runtime uses the answers as the JS and Python
runtimes do (their own tests check that part)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bayou.backend import Backend
from bayou.config import Settings
from bayou.protocol.function_path import FunctionPath
from bayou.runner.function_runner import CallRequest, CallResult
from tests.sync.fake_runtime import Ctx, FakeApp, FakeRuntime


class Harness:
    def __init__(self) -> None:
        self.app = FakeApp()
        self.runtime = FakeRuntime(self.app)
        self.reading = asyncio.Event()  # the first attempt has read
        self.go_on = asyncio.Event()  # the test lets it write
        self.attempts = 0

        @self.app.mutation("items:countThenMark")
        async def count_then_mark(ctx: Ctx, args: dict[str, Any]) -> Any:
            """Counts the items, waits once, marks them: the wait lets another commit in."""
            self.attempts += 1
            items = await ctx.collect("items")
            if self.attempts == 1:
                self.reading.set()
                await self.go_on.wait()
            for item in items:
                await ctx.patch(item["_id"], {"marked": True})
            return float(len(items))

        @self.app.mutation("items:divergent")
        async def divergent(ctx: Ctx, args: dict[str, Any]) -> Any:
            """Reads another table on its re-run, under the same query id."""
            self.attempts += 1
            table = "items" if self.attempts == 1 else "others"
            rows = await ctx.collect(table)
            if self.attempts == 1:
                self.reading.set()
                await self.go_on.wait()
            await ctx.insert("log", {"read": table})
            return [row["name"] for row in rows]

        @self.app.mutation("items:touch")
        async def touch(ctx: Ctx, args: dict[str, Any]) -> Any:
            """Counts on `a`, or on `b` when `flip` says so: its first read is an argument."""
            target = args["b"] if args.get("flip") else args["a"]
            item = await ctx.get(target)
            touched = item.get("touched", 0.0) + 1
            await ctx.patch(target, {"touched": touched})
            return touched

        @self.app.mutation("items:add")
        async def add(ctx: Ctx, args: dict[str, Any]) -> Any:
            return await ctx.insert(args["table"], {"name": args["name"]})


@pytest.fixture
async def harness(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Harness, Backend]]:
    harness = Harness()
    settings = Settings(
        data_dir=tmp_path / "data",
        port=4321,
        cloud_origin="http://bayou.test:4321",
        read_ahead=getattr(request, "param", True),
    )
    backend = Backend(settings, runtimes=lambda s: {"js": harness.runtime})  # type: ignore[dict-item]
    await backend.start()
    backend.activate(harness.app.deployment())
    try:
        yield harness, backend
    finally:
        await backend.stop()


async def call(backend: Backend, path: str, args: dict[str, Any]) -> CallResult:
    assert backend.runner is not None
    return await backend.runner.call(CallRequest(FunctionPath.parse(path), args, "mutation"))


async def run_past_a_commit(
    harness: Harness, backend: Backend, path: str, commit: dict[str, Any]
) -> CallResult:
    """Run `path` and, while its first attempt waits after its reads, add `commit`."""
    running = asyncio.create_task(call(backend, path, {}))
    await asyncio.wait_for(harness.reading.wait(), 10)
    added = await call(backend, "items:add", commit)
    assert added.ok, added.error_message
    harness.go_on.set()
    return await asyncio.wait_for(running, 10)


async def test_a_re_run_is_answered_its_reads_ahead_at_its_own_snapshot(
    harness: tuple[Harness, Backend],
) -> None:
    h, backend = harness
    assert (await call(backend, "items:add", {"table": "items", "name": "a"})).ok
    result = await run_past_a_commit(
        h, backend, "items:countThenMark", {"table": "items", "name": "b"}
    )
    assert result.ok, result.error_message
    # The first attempt saw one item and conflicted with the insert; the re-run counts two.
    assert (h.attempts, result.value) == (2, 2.0)
    # Its reads (the stream's first item and its end) came ahead: no round trip for them,
    # and the one read more that the second item needs went to the core.
    assert h.runtime.answered_ahead[-1] == 2


async def test_a_re_run_that_reads_something_else_is_not_given_the_earlier_reads(
    harness: tuple[Harness, Backend],
) -> None:
    h, backend = harness
    for table, name in (("items", "item"), ("others", "other")):
        assert (await call(backend, "items:add", {"table": table, "name": name})).ok
    result = await run_past_a_commit(h, backend, "items:divergent", {"table": "items", "name": "b"})
    assert result.ok, result.error_message
    assert h.attempts == 2 and h.runtime.answered_ahead[-1] == 0
    # Same query id, another query: the stream read ahead over "items" is not continued.
    assert result.value == ["other"]


async def test_a_first_attempt_is_answered_the_reads_its_arguments_predict(
    harness: tuple[Harness, Backend],
) -> None:
    h, backend = harness
    ids = [
        (await call(backend, "items:add", {"table": "items", "name": f"i{n}"})).value
        for n in range(4)
    ]

    async def touch(a: int, b: int, *, flip: bool = False) -> tuple[Any, int]:
        result = await call(backend, "items:touch", {"a": ids[a], "b": ids[b], "flip": flip})
        assert result.ok, result.error_message
        return result.value, h.runtime.answered_ahead[-1]

    # Two calls teach the runner that the first read is `db.get(args.a)`.
    assert await touch(0, 1) == (1.0, 0)
    assert await touch(1, 2) == (1.0, 0)
    assert await touch(2, 3) == (1.0, 1)  # answered ahead
    assert await touch(0, 3) == (2.0, 1)
    # The function reads another document than predicted: it is not given the guess, and
    # the template is forgotten until two calls teach it again.
    assert await touch(2, 3, flip=True) == (1.0, 0)
    assert await touch(1, 3) == (2.0, 0)
    assert await touch(3, 0) == (2.0, 0)
    assert await touch(0, 1) == (3.0, 1)


@pytest.mark.parametrize("harness", [False], indirect=True)
async def test_bayou_read_ahead_false_answers_nothing_ahead(
    harness: tuple[Harness, Backend],
) -> None:
    h, backend = harness
    ids = [
        (await call(backend, "items:add", {"table": "items", "name": f"i{n}"})).value
        for n in range(3)
    ]
    for n in range(3):
        result = await call(backend, "items:touch", {"a": ids[n], "b": ids[0]})
        assert result.ok and h.runtime.answered_ahead[-1] == 0
    result = await run_past_a_commit(
        h, backend, "items:countThenMark", {"table": "items", "name": "x"}
    )
    assert result.ok and (h.attempts, result.value) == (2, 4.0)
    assert h.runtime.answered_ahead[-1] == 0


def test_a_re_run_repeats_only_the_reads_the_function_made() -> None:
    from bayou.runner.transaction_syscalls import TransactionSyscalls

    syscalls = TransactionSyscalls(None, None)  # type: ignore[arg-type]
    guess, wrong, own = ("1.0/get", {"id": "a"}), ("1.0/get", {"id": "b"}), ("1.0/get", {"id": "c"})
    syscalls.leading_reads = [guess, wrong, own]
    syscalls.offered_ahead = 2
    assert syscalls.reads_made() == [guess, wrong, own]  # not known yet: all of them
    syscalls.used_ahead = 1
    assert syscalls.reads_made() == [guess, own]
    syscalls.used_ahead = 2
    assert syscalls.reads_made() == [guess, wrong, own]
