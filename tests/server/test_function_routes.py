"""The HTTP function API's answer when a call was refused before it ran."""

from __future__ import annotations

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
