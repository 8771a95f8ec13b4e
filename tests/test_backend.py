"""The backend starts even when one language runtime cannot (e.g. no Node.js)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayou.backend import Backend
from bayou.config import Settings
from bayou.errors import BadRequest
from bayou.runtimes.base import RuntimeModule, UnavailableRuntime
from bayou.runtimes.js import JsRuntime
from bayou.runtimes.python.host import PythonRuntime


async def test_a_runtime_that_cannot_start_is_replaced_by_one_that_says_why(tmp_path: Path) -> None:
    def runtimes(settings: Settings) -> dict:
        return {"js": JsRuntime(node=str(tmp_path / "no-node")), "python": PythonRuntime()}

    backend = Backend(Settings(data_dir=tmp_path / "data"), runtimes=runtimes)
    await backend.start()
    try:
        js = backend.runtimes["js"]
        assert isinstance(js, UnavailableRuntime)
        with pytest.raises(BadRequest) as e:
            await js.load("v1", [RuntimeModule("m.js", "export const x = 1;")])
        assert "Node.js" in e.value.message and e.value.code == "RuntimeUnavailable"
        assert isinstance(backend.runtimes["python"], PythonRuntime)
    finally:
        await backend.stop()
