"""The official clients as processes a test drives over JSON lines (drivers/):

    with npm_client(node, js_dir, url, "http") as client:       # ConvexHttpClient
        client.call("mutation", "users:create", {"name": "Ada", "email": "a@x"})
    npm_client(..., "ws")      ConvexClient over the sync WebSocket
    pypi_client(url, "http")   convex.http_client.ConvexHttpClient
    pypi_client(url, "ws")     convex.ConvexClient (the Rust core)

`call` returns the driver's answer: `{"value": <convex json>}` or `{"error": "...",
"data"?: <convex json>}`. Every client gets the same arguments and reports results in the
same encoding, so their answers can be compared as they are.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import selectors
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

DRIVERS = Path(__file__).parent / "drivers"
ANSWER_TIMEOUT = 30.0
CLIENTS = ("npm-http", "npm-ws", "pypi-http", "pypi-ws")


class DriverClient:
    """A client in a child process; one request at a time."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._ids = itertools.count(1)
        self.noise: list[str] = []
        self._selector = selectors.DefaultSelector()
        assert self.process.stdout is not None
        self._selector.register(self.process.stdout, selectors.EVENT_READ)
        ready = self._read_line()
        if ready.get("ready") is not True:
            raise AssertionError(f"{name} did not start: {ready}\n{self._stderr()}")

    def _read_line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        if not self._selector.select(ANSWER_TIMEOUT):
            raise AssertionError(f"{self.name}: no answer in {ANSWER_TIMEOUT}s\n{self._stderr()}")
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"{self.name} exited\n{self._stderr()}")
            if line.startswith(b"{"):
                answer: dict[str, Any] = orjson.loads(line)
                return answer
            self.noise.append(line.decode(errors="replace"))  # a client printing on stdout

    def _stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        assert self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")[-3000:]

    def call(self, kind: str, path: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a function; the driver's answer (`value`, or `error` and maybe `data`)."""
        request_id = next(self._ids)
        command = {"id": request_id, "kind": kind, "path": path, "args": args or {}}
        assert self.process.stdin is not None
        self.process.stdin.write(orjson.dumps(command) + b"\n")
        self.process.stdin.flush()
        answer = self._read_line()
        assert answer.get("id") == request_id, answer
        del answer["id"]
        return answer

    def value(self, kind: str, path: str, args: dict[str, Any] | None = None) -> Any:
        """Run a function that must succeed; its value."""
        answer = self.call(kind, path, args)
        assert "error" not in answer, answer
        return answer["value"]

    def error(self, kind: str, path: str, args: dict[str, Any] | None = None) -> str:
        """Run a function that must fail; the error text the client reports."""
        answer = self.call(kind, path, args)
        assert "error" in answer, answer
        return str(answer["error"])

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                assert self.process.stdin is not None
                self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._selector.close()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def npm_client(
    node: str, js_dir: Path, url: str, mode: str, admin_key: str | None = None
) -> Iterator[DriverClient]:
    """The npm package's `ConvexHttpClient` (mode "http") or `ConvexClient` ("ws")."""
    argv = [node, str(DRIVERS / "npm_driver.cjs"), url, mode, *([admin_key] if admin_key else [])]
    env = {**os.environ, "NODE_PATH": str(js_dir / "node_modules")}
    client = DriverClient(f"npm-{mode}", argv, env)
    try:
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def pypi_client(url: str, mode: str, admin_key: str | None = None) -> Iterator[DriverClient]:
    """The PyPI package's `ConvexHttpClient` (mode "http") or `ConvexClient` ("ws")."""
    argv = [
        sys.executable,
        str(DRIVERS / "pypi_driver.py"),
        url,
        mode,
        *([admin_key] if admin_key else []),
    ]
    client = DriverClient(f"pypi-{mode}", argv, dict(os.environ))
    try:
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def official_client(
    name: str, url: str, node: str, js_dir: Path, admin_key: str | None = None
) -> Iterator[DriverClient]:
    """One of CLIENTS by name."""
    package, mode = name.split("-")
    if package == "npm":
        with npm_client(node, js_dir, url, mode, admin_key) as client:
            yield client
    else:
        with pypi_client(url, mode, admin_key) as client:
            yield client
