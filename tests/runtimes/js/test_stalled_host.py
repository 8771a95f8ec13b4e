"""A host that stalls must not time out a call that its worker finished in time.

The server runs on uvloop, which fires due timers before it reads the pipes: after a stall
the watchdog would see its deadline pass before reading the worker's answer. The watchdog
asks the worker first (a ping), and the answer queued behind the call's message proves the
call is not running away.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import uvloop

from bayou.runtimes.js import JsRuntime
from tests.runtimes.js.fakedb import FakeDb, invocation


@pytest.fixture(scope="module")
def event_loop_policy() -> uvloop.EventLoopPolicy:
    return uvloop.EventLoopPolicy()


async def test_a_stalled_host_does_not_time_out_a_quick_call(runtime: JsRuntime) -> None:
    class Stalling(FakeDb):
        async def op_getUserIdentity(self, args):
            # The host freezes past the call's whole limit right after handing the call
            # back to its worker, which finishes at once.
            asyncio.get_running_loop().call_soon(time.sleep, 0.8)
            return None

    result = await runtime.invoke(invocation("misc.js:slow", {"ms": 3}, timeout_s=0.2), Stalling())
    assert result.ok, result.error_message
    assert not result.timed_out


async def test_an_infinite_loop_is_still_stopped_on_uvloop(runtime: JsRuntime) -> None:
    result = await runtime.invoke(invocation("misc.js:spin", timeout_s=0.2), FakeDb())
    assert not result.ok and result.timed_out
