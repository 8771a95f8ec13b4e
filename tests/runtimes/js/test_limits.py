"""A function's result and memory have Convex's limits: a return value past 16 MiB is
refused as soon as the function returns it, and an allocation past the worker's memory
cap fails that call with Convex's out-of-memory error; the worker is replaced and the
other calls go on."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bayou.runtimes.js import Invocation, JsRuntime, Module

VERSION = "limits"
SOURCE = """
const query = (fn) => ({ isQuery: true, isPublic: true, invokeQuery: async () => JSON.stringify(await fn()) });
export const big = query(() => "x".repeat(100 * 2 ** 20));
export const wide = query(() => "\\u00e9".repeat(9 * 2 ** 20));
export const justUnder = query(() => "x".repeat(16 * 2 ** 20 - 100));
export const huge = query(() => new ArrayBuffer(4 * 2 ** 30).byteLength);
export const fine = query(() => "fine");
export const bigAction = { isAction: true, isPublic: true, invokeAction: async () => JSON.stringify("y".repeat(20 * 2 ** 20)) };
"""


class NoSyscalls:
    async def async_syscall(self, op: str, args: Any) -> Any:
        return None


@pytest.fixture
async def runtime(node: str) -> AsyncIterator[JsRuntime]:
    rt = JsRuntime(node=node, workers=2, action_workers=1)
    await rt.start()
    await rt.load(VERSION, [Module("limits.js", SOURCE)])
    try:
        yield rt
    finally:
        await rt.close()


async def call(runtime: JsRuntime, name: str, kind: str = "query"):
    invocation = Invocation(
        version=VERSION, udf_type=kind, path=f"limits.js:{name}", args_json="[{}]", timeout_s=30
    )
    return await runtime.invoke(invocation, NoSyscalls())


async def test_a_result_past_16_mib_is_refused_with_convex_s_message(runtime: JsRuntime) -> None:
    result = await call(runtime, "big")
    assert not result.ok
    assert result.value_json is None
    assert result.error_message == (
        "Function limits.js:big return value is too large (actual: at least 100 MiB, limit: 16 MiB)"
    )
    # Measured in UTF-8 bytes: 9 Mi two-byte characters are 18 MiB.
    wide = await call(runtime, "wide")
    assert wide.error_message == (
        "Function limits.js:wide return value is too large (actual: 18 MiB, limit: 16 MiB)"
    )
    action = await call(runtime, "bigAction", "action")
    assert action.error_message is not None and "return value is too large" in action.error_message
    under = await call(runtime, "justUnder")
    assert under.ok and len(json.loads(under.value_json or '""')) == 16 * 2**20 - 100
    assert (await call(runtime, "fine")).ok


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS: Linux")
async def test_a_4_gb_allocation_fails_its_call_and_the_worker_is_replaced(
    runtime: JsRuntime,
) -> None:
    before = set(runtime.worker_pids()["udf"])
    others = [asyncio.ensure_future(call(runtime, "fine")) for _ in range(4)]
    result = await call(runtime, "huge")
    assert not result.ok
    assert result.error_message == (
        "JavaScript execution ran out of memory (maximum memory usage: 4096 MB)"
    )
    assert all(r.ok for r in await asyncio.gather(*others))
    for _ in range(200):
        if set(runtime.worker_pids()["udf"]) != before and len(runtime.worker_pids()["udf"]) == 2:
            break
        await asyncio.sleep(0.05)
    assert set(runtime.worker_pids()["udf"]) != before  # the worker that ran it was replaced
    assert (await call(runtime, "fine")).ok
