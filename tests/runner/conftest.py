"""A started backend (SQLite in a temporary directory) with the sync tests' fake runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bayou.backend import Backend
from bayou.config import Settings
from tests.sync.app import Gates, build_app
from tests.sync.fake_runtime import FakeRuntime


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[Backend]:
    app = build_app(Gates())
    runtime = FakeRuntime(app)
    backend = Backend(
        Settings(data_dir=tmp_path / "data", port=4321, cloud_origin="http://bayou.test:4321"),
        runtimes=lambda s: {"js": runtime},  # type: ignore[dict-item]
    )
    await backend.start()
    backend.activate(app.deployment())
    try:
        yield backend
    finally:
        await backend.stop()
