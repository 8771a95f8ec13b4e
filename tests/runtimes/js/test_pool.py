"""The worker pool: time limits, crashed workers, admission limits, nested calls."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import pytest

from bayou.errors import RateLimited
from bayou.runtimes.js import JsRuntime, Module
from bayou.runtimes.js.worker import ACTIVE_CALL
from tests.runtimes.js.fakedb import FakeDb, invocation


async def test_infinite_loop_in_a_query_is_stopped_while_other_calls_complete(
    runtime: JsRuntime, db: FakeDb
) -> None:
    before = runtime.worker_pids()["udf"]
    spin = asyncio.ensure_future(runtime.invoke(invocation("misc.js:spin"), db))
    await asyncio.sleep(0.1)  # the loop is running on one worker
    others = [await runtime.invoke(invocation("misc.js:noop"), db) for _ in range(5)]
    assert all(r.ok for r in others)
    assert not spin.done()
    result = await spin
    assert not result.ok and result.timed_out
    assert result.error_message == "Function execution timed out (maximum duration: 1s)"
    # The killed worker was replaced, and the pool serves calls again.
    for _ in range(20):
        if len(runtime.worker_pids()["udf"]) == len(before):
            break
        await asyncio.sleep(0.05)
    after = runtime.worker_pids()["udf"]
    assert len(after) == len(before) and set(after) != set(before)
    assert (await runtime.invoke(invocation("misc.js:noop"), db)).ok


async def test_loop_after_awaiting_a_syscall_is_stopped_within_its_limit(
    runtime: JsRuntime, db: FakeDb
) -> None:
    message_id = db.add("messages", author="a", body="b", likes=0.0)
    result = await runtime.invoke(
        invocation("misc.js:spinAfterAwait", {"id": message_id}, timeout_s=0.3), db
    )
    assert result.timed_out
    assert result.error_message == "Function execution timed out (maximum duration: 0.3s)"


async def test_time_waiting_for_syscalls_does_not_count_against_the_limit(
    runtime: JsRuntime,
) -> None:
    class Slow(FakeDb):
        async def op_getUserIdentity(self, args):
            await asyncio.sleep(0.05)
            return None

    result = await runtime.invoke(invocation("misc.js:slow", {"ms": 8}, timeout_s=0.2), Slow())
    assert result.ok, result.error_message  # 8 × 50 ms of waiting > 0.2 s limit
    assert json.loads(result.value_json) == {"rounds": 8, "frozen": True}
    assert result.user_time_ms < 200


async def test_killed_worker_fails_its_call_and_is_replaced(runtime: JsRuntime) -> None:
    class Killer(FakeDb):
        async def op_getUserIdentity(self, args):
            os.kill(ACTIVE_CALL.get().worker.pid, signal.SIGKILL)
            await asyncio.sleep(5)  # never answered: the worker is gone

    result = await runtime.invoke(invocation("misc.js:slow", {"ms": 1}), Killer())
    assert not result.ok and not result.timed_out
    assert "JavaScript worker running this function stopped" in result.error_message
    assert "SIGKILL" in result.error_message
    results = await asyncio.gather(
        *(runtime.invoke(invocation("misc.js:noop"), FakeDb()) for _ in range(4))
    )
    assert all(r.ok for r in results)


async def test_calls_beyond_the_concurrency_limit_wait_instead_of_failing(
    pushed_app, node: str
) -> None:
    rt = JsRuntime(node=node, workers=3, max_concurrent_queries=2)
    await rt.start()
    try:
        await rt.load("app", pushed_app)
        active = 0
        most = 0
        release = asyncio.Event()

        class Gate(FakeDb):
            async def op_getUserIdentity(self, args):
                nonlocal active, most
                active += 1
                most = max(most, active)
                await release.wait()
                active -= 1
                return None

        calls = [
            asyncio.ensure_future(rt.invoke(invocation("misc.js:slow", {"ms": 1}), Gate()))
            for _ in range(6)
        ]
        await asyncio.sleep(0.3)
        assert active == 2 and not any(c.done() for c in calls)
        release.set()
        results = await asyncio.gather(*calls)
        assert all(r.ok for r in results)
        assert most == 2
    finally:
        await rt.close()


async def test_actions_waiting_on_nested_queries_do_not_deadlock_the_pool(
    pushed_app, node: str
) -> None:
    rt = JsRuntime(node=node, workers=1, max_concurrent_queries=1, max_concurrent_actions=4)
    await rt.start()
    try:
        await rt.load("app", pushed_app)
        db = FakeDb(rt)
        results = await asyncio.gather(
            *(rt.invoke(invocation("actions.js:nested", {"n": 5}), db) for _ in range(6))
        )
        assert [r.value_json for r in results] == ["5"] * 6
    finally:
        await rt.close()


async def test_nested_calls_of_a_mutation_run_on_its_worker_without_another_slot(
    pushed_app, node: str
) -> None:
    # One worker and one mutation slot: ctx.runMutation inside a mutation would deadlock
    # if the nested call queued for a worker or a slot of its own.
    rt = JsRuntime(node=node, workers=1, max_concurrent_mutations=1)
    await rt.start()
    try:
        await rt.load("app", pushed_app)
        db = FakeDb(rt)
        workers = []

        class Recording(FakeDb):
            async def async_syscall(self, op, args):
                workers.append(ACTIVE_CALL.get().worker.pid)
                return await db.async_syscall(op, args)

        result = await asyncio.wait_for(
            rt.invoke(
                invocation(
                    "messages.js:sendTwice", {"author": "a", "body": "b"}, udf_type="mutation"
                ),
                Recording(rt),
            ),
            10,
        )
        assert result.ok, result.error_message
        assert result.value_json == "2"
        assert [op for op, _ in db.ops].count("1.0/runUdf") == 3
        assert len(set(workers)) == 1
    finally:
        await rt.close()


async def test_action_past_its_time_limit_is_cancelled(runtime: JsRuntime, db: FakeDb) -> None:
    result = await runtime.invoke(invocation("actions.js:sleepy", {"ms": 5000}, timeout_s=0.2), db)
    assert result.timed_out
    assert result.error_message == "Function execution timed out (maximum duration: 0.2s)"
    quick = await runtime.invoke(invocation("actions.js:sleepy", {"ms": 1}), db)
    assert quick.value_json == "1"


async def test_concurrent_actions_keep_their_own_logs_and_environment(
    runtime: JsRuntime, db: FakeDb
) -> None:
    tags = [f"t{i}" for i in range(6)]
    results = await asyncio.gather(
        *(
            runtime.invoke(
                invocation("actions.js:tagged", {"tag": tag, "ms": 30 - 5 * i}),
                db,
            )
            for i, tag in enumerate(tags)
        )
    )
    for tag, result in zip(tags, results, strict=True):
        assert result.ok, result.error_message
        assert json.loads(result.value_json) == tag
        assert [line["messages"] for line in result.log_lines] == [
            ["'start'", f"'{tag}'"],
            ["'end'", f"'{tag}'", "'hello'"],
        ]
    # Same environment: one shared realm served all six at once.
    other_env = await runtime.invoke(
        invocation("actions.js:tagged", {"tag": "x", "ms": 1}, env={"GREETING": "hi"}), db
    )
    assert other_env.log_lines[-1]["messages"] == ["'end'", "'x'", "'hi'"]


async def test_worker_that_dropped_many_contexts_is_replaced_and_calls_go_on(
    pushed_app, node: str
) -> None:
    rt = JsRuntime(node=node, workers=1, max_context_uses=1, retire_after_discards=3)
    await rt.start()
    try:
        await rt.load("app", pushed_app)
        first = rt.worker_pids()["udf"]
        seen = set(first)
        for _ in range(12):
            result = await rt.invoke(invocation("misc.js:noop"), FakeDb())
            assert result.ok, result.error_message
            seen.update(rt.worker_pids()["udf"])
            await asyncio.sleep(0.02)
        assert len(seen) > 1
    finally:
        await rt.close()


async def test_an_urgent_call_takes_the_next_free_worker_before_queued_calls(
    pushed_app, node: str
) -> None:
    # A call whose transaction holds hot documents' locks (Invocation.urgent) goes first:
    # the mutations waiting on those locks wait on it.
    rt = JsRuntime(node=node, workers=1, max_concurrent_mutations=4)
    await rt.start()
    try:
        await rt.load("app", pushed_app)
        released = asyncio.Event()
        started: list[str] = []

        class Named(FakeDb):
            def __init__(self, name: str, gate: asyncio.Event | None = None) -> None:
                super().__init__(rt)
                self.name, self.gate = name, gate

            async def async_syscall(self, op, args):
                started.append(self.name)
                if self.gate is not None:
                    await self.gate.wait()
                return await super().async_syscall(op, args)

        def call(name: str, *, urgent: bool = False, gate: asyncio.Event | None = None):
            db = Named(name, gate)
            inv = invocation("messages.js:send", {"author": "a", "body": name}, udf_type="mutation")
            inv.urgent = urgent
            return asyncio.ensure_future(rt.invoke(inv, db))

        holder = call("holder", gate=released)  # takes the one worker and waits
        while not started:
            await asyncio.sleep(0.01)
        queued = [call("first-queued"), call("second-queued")]
        await asyncio.sleep(0.1)
        urgent = call("urgent", urgent=True)
        await asyncio.sleep(0.1)
        released.set()
        for result in await asyncio.gather(holder, *queued, urgent):
            assert result.ok, result.error_message
        assert started == ["holder", "urgent", "first-queued", "second-queued"]
    finally:
        await rt.close()


async def test_a_mutation_finding_every_slot_taken_too_long_is_refused(
    pushed_app, node: str
) -> None:
    rt = JsRuntime(node=node, workers=1, max_concurrent_mutations=1, slot_wait_s=0.2)
    await rt.start()
    try:
        await rt.load("app", pushed_app)
        released = asyncio.Event()

        class Gated(FakeDb):
            async def async_syscall(self, op, args):
                await released.wait()
                return await super().async_syscall(op, args)

        def send(body: str):
            inv = invocation("messages.js:send", {"author": "a", "body": body}, udf_type="mutation")
            return rt.invoke(inv, Gated(rt))

        holder = asyncio.ensure_future(send("held"))
        await asyncio.sleep(0.05)
        with pytest.raises(RateLimited) as refused:
            await send("refused")
        assert refused.value.code == "TooManyConcurrentRequests"
        released.set()
        assert (await holder).ok
    finally:
        await rt.close()


async def test_evaluating_the_modules_in_a_fresh_context_is_not_charged_to_the_call(
    pushed_error_app: list[Module], node: str
) -> None:
    # slowImport.js computes for a second or so at its top level (past the watchdog's probe
    # grace too); the call's own limit is 50 ms.
    rt = JsRuntime(node=node, workers=1)
    await rt.start()
    try:
        await rt.load("slow", pushed_error_app)
        db = FakeDb(rt, "slow")
        call = invocation("slowImport.js:quick", version="slow", timeout_s=0.05)
        first = await rt.invoke(call, db)
        assert first.ok, first.error_message
        assert first.value_json == '"quick"'
        assert (await rt.invoke(call, db)).ok
    finally:
        await rt.close()
