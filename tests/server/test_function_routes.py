"""The HTTP function API's answer when a call was refused before it ran."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bayou.backend import Backend
from bayou.config import Settings
from bayou.runner.calls import CallResult
from bayou.runtimes.slots import too_many
from bayou.server.app import api_app


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[Backend]:
    backend = Backend(Settings(data_dir=tmp_path / "data"), runtimes=lambda s: {})
    await backend.start()
    try:
        yield backend
    finally:
        await backend.stop()


async def test_a_call_refused_for_want_of_slots_gets_convex_s_429(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = too_many(16, "mutation")

    async def call(request, **_):  # every slot stayed taken for the wait limit
        return CallResult(False, "mutation", error_message=refused.message, refused=refused)

    assert backend.runner is not None
    monkeypatch.setattr(backend.runner, "call", call)
    transport = httpx.ASGITransport(app=api_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post("/api/mutation", json={"path": "m:f", "args": {}})
    assert answer.status_code == 429
    assert answer.json() == {
        "code": "TooManyConcurrentRequests",
        "message": "Too many concurrent requests. Your backend is limited to 16 concurrent "
        "mutations. Raise it with APPLICATION_MAX_CONCURRENT_MUTATIONS if the machine has "
        "room, or spread the load.",
    }


CASES = [
    # (path, headers, body)
    ("/api/mutation", {"content-type": "application/json"}, b"{not json"),
    ("/api/query", {}, b'{"path": "m:f", "args": {}}'),  # no JSON content type
    ("/api/action", {"content-type": "application/json"}, b'{"path": "m:f", "args": {}}'),
    ("/api/query", {"content-type": "application/json"}, b'{"path": 3}'),
    (
        "/api/mutation",
        {"content-type": "application/json", "authorization": "Bearer not.a.jwt"},
        b'{"path": "m:f", "args": {}}',
    ),
    (
        "/api/mutation",
        {"content-type": "application/json", "authorization": "Convex bad-key"},
        b'{"path": "m:f", "args": {}}',
    ),
    ("/api/query", {"content-type": "application/json"}, b'{"path": "m:f", "args": [1, 2]}'),
]


@pytest.mark.parametrize("origin", [None, "https://app.example"])
@pytest.mark.parametrize(("path", "headers", "body"), CASES)
async def test_the_hot_routes_answer_as_the_full_stack_does(
    backend: Backend,
    path: str,
    headers: dict[str, str],
    body: bytes,
    origin: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`FunctionFront` skips the router and middleware for /api/query|mutation|action: it
    must answer exactly as the stack behind it (status, body, every header, access line)."""
    caplog.set_level(logging.INFO, logger="bayou.access")
    front = api_app(backend)
    sent = {**headers, "x-request-id": "fixed-id-1", "convex-request-id": "fixed-id-2"}
    if origin is not None:
        sent["origin"] = origin
    answers = []
    for app in (front, front.app):  # the front, then the Starlette stack behind it
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answers.append(await client.post(path, content=body, headers=sent))
    fast, full = answers
    lines = [r.getMessage().rsplit(" ", 2) for r in caplog.records if r.name == "bayou.access"]
    assert len(lines) == 2 and lines[0][0] == lines[1][0] == f"POST {path} {full.status_code}"
    assert fast.status_code == full.status_code
    assert fast.json() == full.json()
    assert sorted(fast.headers.multi_items()) == sorted(full.headers.multi_items())
    assert fast.headers["x-request-id"] == "fixed-id-1"
    if origin is not None:
        assert fast.headers["access-control-allow-origin"] == origin
