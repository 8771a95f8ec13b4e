"""Fixtures of the JS runtime tests: real bundles captured from the official CLI, a running
runtime with the test app loaded, and a loopback HTTP server for actions to fetch from."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bayou.runtimes.js import JsRuntime, Module
from tests.runtimes.js.capture import capture_push
from tests.runtimes.js.fakedb import APP_VERSION, FakeDb

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def pushed_app(js_dir: Path, node: str) -> list[Module]:
    """The test app's modules, exactly as `npx convex deploy` pushes them."""
    return [Module.from_json(m) for m in capture_push(HERE / "app", js_dir, node).modules]


@pytest.fixture(scope="session")
def pushed_error_app(js_dir: Path, node: str) -> list[Module]:
    """An app with modules that fail at import time."""
    return [
        Module.from_json(m) for m in capture_push(HERE / "app_import_error", js_dir, node).modules
    ]


@pytest.fixture
async def runtime(pushed_app: list[Module], node: str) -> AsyncIterator[JsRuntime]:
    rt = JsRuntime(node=node, workers=2, action_workers=1)
    await rt.start()
    await rt.load(APP_VERSION, pushed_app, import_seed=7, import_time_ms=1_600_000_000_000.0)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
def db(runtime: JsRuntime) -> FakeDb:
    return FakeDb(runtime, APP_VERSION)


class _Hello(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b"fetched over loopback"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="session")
def loopback_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hello"
    server.shutdown()
    server.server_close()
