"""Fixtures for the Python runtime: the example app, a runtime per test module, a fake core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bayou.runtimes.base import RuntimeModule
from bayou.runtimes.python.host import PythonRuntime
from tests.runtimes.python.fake import FakeBackend

APP_DIR = Path(__file__).parent / "app" / "convex"
APP_VERSION = "example-app"


def app_modules() -> list[RuntimeModule]:
    """The example app's modules as a push would carry them (paths relative to convex/)."""
    return [
        RuntimeModule(p.relative_to(APP_DIR).as_posix(), p.read_text(), None, "python")
        for p in sorted(APP_DIR.rglob("*.py"))
    ]


def modules(sources: dict[str, str]) -> list[RuntimeModule]:
    """Modules from `{path: source}`."""
    return [RuntimeModule(path, source, None, "python") for path, source in sources.items()]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runtime() -> AsyncIterator[PythonRuntime]:
    """A started runtime shared by the tests of one module."""
    rt = PythonRuntime(min_idle=2)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def analysis(runtime: PythonRuntime) -> dict[str, Any]:
    """The example app, loaded and analyzed."""
    await runtime.load(APP_VERSION, app_modules())
    result: dict[str, Any] = await runtime.analyze(APP_VERSION)
    return result


@pytest.fixture
def backend(runtime: PythonRuntime, analysis: dict[str, Any]) -> FakeBackend:
    """A fresh in-memory backend over the example app."""
    return FakeBackend(runtime, APP_VERSION, analysis["schema"])
