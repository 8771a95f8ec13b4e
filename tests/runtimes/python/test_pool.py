"""The worker pool: time limits, crashes, replacement, concurrency limits and nested calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bayou.errors import OccError
from bayou.runtimes.python.host import PythonRuntime
from tests.runtimes.python.conftest import APP_VERSION, app_modules, modules
from tests.runtimes.python.fake import FakeBackend

pytestmark = pytest.mark.asyncio(loop_scope="module")

TIMEOUT = "Function execution timed out (maximum duration: 1s)"


async def test_a_runaway_query_is_stopped_while_another_call_completes(
    backend: FakeBackend,
) -> None:
    runaway = asyncio.ensure_future(backend.call("query", "misc.js:spin"))
    await asyncio.sleep(0.2)
    assert await backend.value("query", "misc.js:nap") == "rested"
    result = await runaway
    assert not result.ok
    assert result.error_message == TIMEOUT
    # The pool keeps working after replacing the worker.
    assert await backend.value("query", "misc.js:nap") == "rested"


async def test_a_loop_in_native_code_is_killed_by_the_host(
    runtime: PythonRuntime, backend: FakeBackend
) -> None:
    result = await backend.call("query", "misc.js:spin_in_c")
    assert result.error_message == TIMEOUT
    assert await backend.value("query", "misc.js:nap") == "rested"


async def test_time_waiting_for_syscalls_is_not_user_time(backend: FakeBackend) -> None:
    channel = backend.add("channels", {"name": "general"})
    for _ in range(100):
        backend.add("messages", {"channel": channel, "author": "a", "body": "b"})
    handler = backend.handler("query")
    batches = []

    async def slow(op: str, args: Any) -> Any:
        batches.append(args["max"])
        await asyncio.sleep(0.4)  # the core taking its time: not the function's
        return None

    handler.hook = slow
    started = time.monotonic()
    result = await backend.runtime.invoke(
        backend.invocation("query", "messages.js:summaries"), handler
    )
    assert result.ok, result.error_message
    assert batches == [32, 64, 128]
    assert time.monotonic() - started > 1.2  # more wall time than the 1 s limit


async def test_a_crashed_worker_is_replaced(runtime: PythonRuntime, backend: FakeBackend) -> None:
    result = await backend.call("mutation", "misc.js:crash")
    assert not result.ok
    assert result.error_message is not None
    assert "exited unexpectedly (exit code 3)" in result.error_message
    assert await backend.value("query", "misc.js:nap") == "rested"


@pytest_asyncio.fixture(loop_scope="module")
async def tiny_runtime() -> AsyncIterator[PythonRuntime]:
    rt = PythonRuntime(min_idle=0, max_queries=1, max_mutations=1, max_actions=1)
    await rt.start()
    await rt.load(APP_VERSION, app_modules())
    try:
        yield rt
    finally:
        await rt.close()


async def test_nested_calls_do_not_wait_for_slots_their_parents_hold(
    tiny_runtime: PythonRuntime, analysis: dict[str, Any]
) -> None:
    backend = FakeBackend(tiny_runtime, APP_VERSION, analysis["schema"])
    channel = backend.add("channels", {"name": "general"})
    result = await asyncio.wait_for(
        backend.value(
            "action",
            "actions.js:post_and_read",
            {"channel": channel, "author": "a", "body": "nested"},
        ),
        30,
    )
    assert result["body"] == "nested"


async def test_concurrency_is_limited_per_kind(
    tiny_runtime: PythonRuntime, analysis: dict[str, Any]
) -> None:
    backend = FakeBackend(tiny_runtime, APP_VERSION, analysis["schema"])
    results = await asyncio.gather(*(backend.call("query", "misc.js:nap") for _ in range(3)))
    assert all(r.ok for r in results)
    # One query slot: the three queries took turns on one worker.
    assert tiny_runtime.spawned == 1


async def test_an_occ_error_from_a_syscall_reaches_the_core(backend: FakeBackend) -> None:
    channel = backend.add("channels", {"name": "general"})
    message = backend.add("messages", {"channel": channel, "author": "a", "body": "b"})
    handler = backend.handler("mutation")

    def conflict(op: str, args: Any) -> Any:
        if op == "1.0/shallowMerge":
            raise OccError("Documents read from or written to the messages table changed")
        return None

    handler.hook = conflict
    with pytest.raises(OccError):
        await backend.runtime.invoke(
            backend.invocation("mutation", "messages.js:like", {"id": message}), handler
        )


async def test_a_version_switch_reimports_modules(runtime: PythonRuntime) -> None:
    await runtime.load("switch-a", modules({"m.py": VERSIONED.format(n=1)}))
    await runtime.load("switch-b", modules({"m.py": VERSIONED.format(n=2)}))
    backend_a = FakeBackend(runtime, "switch-a", None)
    backend_b = FakeBackend(runtime, "switch-b", None)
    for _ in range(3):
        assert await backend_a.value("query", "m.js:which") == 1.0
        assert await backend_b.value("query", "m.js:which") == 2.0


VERSIONED = """
from bayou import query


@query
def which(ctx):
    return {n}
"""


async def test_a_cancelled_call_does_not_leave_a_confused_worker(backend: FakeBackend) -> None:
    channel = backend.add("channels", {"name": "general"})
    handler = backend.handler("query")
    entered = asyncio.Event()

    async def stall(op: str, args: Any) -> Any:
        entered.set()
        await asyncio.sleep(30)

    handler.hook = stall
    call = backend.invocation("query", "messages.js:list", {"channel": channel})
    task = asyncio.ensure_future(backend.runtime.invoke(call, handler))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(3):
        assert await backend.value("query", "messages.js:list", {"channel": channel}) == []


async def test_close_stops_every_worker_process() -> None:
    rt = PythonRuntime(min_idle=2)
    await rt.start()
    await rt.load("close-test", modules({"m.py": VERSIONED.format(n=7)}))
    backend = FakeBackend(rt, "close-test", None)
    assert await backend.value("query", "m.js:which") == 7.0
    processes = [w.process for pool in rt._pools.values() for w in pool.workers]
    assert processes
    await rt.close()
    await asyncio.sleep(0)
    assert all(p.returncode is not None for p in processes)
    assert rt.workers == 0


class _FakeProcess:
    """Enough of a WorkerProcess for WorkerPool's bookkeeping."""

    def __init__(self) -> None:
        self.version: str | None = None
        self.alive = True
        self.killed = False
        self.returncode: int | None = None
        self.process = self

    async def close(self) -> None:
        self.alive = False

    async def wait(self) -> None:
        return None


async def test_a_pool_at_its_size_stops_starting_spares_it_would_discard() -> None:
    from bayou.runtimes.python.pool import WorkerPool

    async def spawn() -> Any:
        await asyncio.sleep(0)
        return _FakeProcess()

    pool = WorkerPool(spawn, min_idle=1, max_idle=4)
    await pool.start()
    for _ in range(20):  # bursts of as many calls as the pool may run at once
        workers = [await pool.acquire("v1") for _ in range(4)]
        await asyncio.sleep(0.01)  # spares that were started finish starting
        for worker in workers:
            pool.release(worker)
        await asyncio.sleep(0.01)
    # The burst's workers are kept and reused: no new interpreter per burst.
    assert pool.spawned <= 5, pool.spawned
    await pool.close()
