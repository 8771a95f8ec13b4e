"""Fixtures for tests/values: a Node process that answers with the official npm `convex`."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).parent / "npm_compat.cjs"


class NpmValues:
    """A long-lived `node npm_compat.cjs`: one JSON request line in, one response line out."""

    def __init__(self, node: str, js_dir: Path) -> None:
        env = {**os.environ, "NODE_PATH": str(js_dir / "node_modules")}
        self._process = subprocess.Popen(
            [node, str(SCRIPT)],
            cwd=js_dir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def call(self, mode: str, **payload: Any) -> dict[str, Any]:
        """Send one request; return the `ok` part of the response or fail the test."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps({"mode": mode, **payload}) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            pytest.fail(f"npm_compat.cjs exited with {self._process.wait()}")
        response = json.loads(line)
        if "error" in response:
            pytest.fail(f"npm_compat.cjs failed: {response['error']}")
        return response["ok"]

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


@pytest.fixture(scope="module")
def npm_values(node: str, js_dir: Path) -> Iterator[NpmValues]:
    """The official `convex/values` API behind a line protocol (see npm_compat.cjs)."""
    client = NpmValues(node, js_dir)
    yield client
    client.close()
