"""Sync mutations run exactly once per (session id, request id)."""

from __future__ import annotations

import asyncio

from bayou.backend import Backend
from bayou.protocol.function_path import FunctionPath
from bayou.runner.function_runner import CallRequest, CallResult


async def send(backend: Backend, body: str, session: tuple[str, int] | None) -> CallResult:
    assert backend.runner is not None
    return await backend.runner.call(
        CallRequest(
            FunctionPath.parse("messages:send"), {"body": body}, "mutation", session=session
        )
    )


async def count(backend: Backend) -> int:
    assert backend.db is not None
    tx = backend.db.begin(read_only=True)
    table = tx.table_for_read("messages")
    if table is None:
        return 0
    return len(
        await tx.query(
            {
                "source": {"type": "FullTableScan", "tableName": "messages", "order": "asc"},
                "operators": [],
            }
        ).collect()
    )


async def test_a_repeated_session_request_replays_the_stored_result_and_ts(
    backend: Backend,
) -> None:
    first = await send(backend, "once", ("session-a", 7))
    again = await send(backend, "once", ("session-a", 7))
    assert first.ok and again.ok
    assert again.replayed and not first.replayed
    assert (again.value, again.ts) == (first.value, first.ts)
    assert await count(backend) == 1


async def test_other_sessions_and_requests_run_anew(backend: Backend) -> None:
    a = await send(backend, "x", ("session-a", 1))
    b = await send(backend, "x", ("session-b", 1))
    c = await send(backend, "x", ("session-a", 2))
    d = await send(backend, "x", None)
    e = await send(backend, "x", None)
    assert not any(r.replayed for r in (a, b, c, d, e))
    assert await count(backend) == 5


async def test_concurrent_runs_of_one_request_commit_once(backend: Backend) -> None:
    results = await asyncio.gather(*(send(backend, "race", ("session-r", 0)) for _ in range(4)))
    assert all(r.ok for r in results)
    assert len({(r.value, r.ts) for r in results}) == 1
    assert await count(backend) == 1
