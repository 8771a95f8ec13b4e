"""A Python function's result and memory have Convex's limits: a return value past 16 MiB
is refused in the worker, before it crosses to the server, and an allocation past the
worker's memory cap fails that call with an out-of-memory error; the worker is replaced
and the other calls go on."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bayou.runtimes.base import Invocation
from bayou.runtimes.python.host import PythonRuntime
from tests.runtimes.python.conftest import modules

VERSION = "limits"
SOURCE = """
from bayou import action, query

@query
def big(ctx):
    return "x" * (100 << 20)

@query
def just_under(ctx):
    return "x" * ((16 << 20) - 100)

@query
def huge(ctx):
    return len(bytearray(4 << 30))

@query
def fine(ctx):
    return "fine"

@action
def big_action(ctx):
    return ["y" * (1 << 20)] * 20
"""


class NoSyscalls:
    async def async_syscall(self, op: str, args: Any) -> Any:
        return None


@pytest.fixture
async def runtime() -> AsyncIterator[PythonRuntime]:
    rt = PythonRuntime(min_idle=1)
    await rt.start()
    await rt.load(VERSION, modules({"limits.py": SOURCE}))
    try:
        yield rt
    finally:
        await rt.close()


async def call(runtime: PythonRuntime, name: str, kind: str = "query"):
    invocation = Invocation(
        version=VERSION, udf_type=kind, path=f"limits.js:{name}", args_json="[{}]", timeout_s=30
    )
    return await runtime.invoke(invocation, NoSyscalls())


async def test_a_result_past_16_mib_is_refused_with_convex_s_message(
    runtime: PythonRuntime,
) -> None:
    result = await call(runtime, "big")
    assert not result.ok
    assert result.value_json is None
    assert result.error_message == (
        "Function limits.js:big return value is too large (actual: 100 MiB, limit: 16 MiB)"
    )
    action = await call(runtime, "big_action", "action")
    assert action.error_message is not None and "return value is too large" in action.error_message
    assert (await call(runtime, "just_under")).ok
    assert (await call(runtime, "fine")).ok


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS: Linux")
async def test_a_4_gb_allocation_fails_its_call_and_the_worker_is_replaced() -> None:
    runtime = PythonRuntime(min_idle=0, max_queries=1)
    await runtime.start()
    try:
        await runtime.load(VERSION, modules({"limits.py": SOURCE}))
        assert (await call(runtime, "fine")).ok
        assert runtime.spawned == 1
        result = await call(runtime, "huge")  # on the same worker: one query at a time
        assert not result.ok
        assert result.error_message == (
            "Python execution ran out of memory (maximum memory usage: 4096 MB)"
        )
        assert (await call(runtime, "fine")).ok
        assert runtime.spawned == 2  # the worker that ran out of memory was replaced
    finally:
        await runtime.close()
