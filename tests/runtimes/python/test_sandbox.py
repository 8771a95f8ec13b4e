"""What functions see of the world: seeded randomness and a frozen clock in queries and
mutations, no network there, environment variables, and their output as log lines."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bayou.runtimes.python.host import PythonRuntime
from tests.runtimes.python.conftest import modules
from tests.runtimes.python.fake import FakeBackend

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_queries_see_a_seeded_world_frozen_at_the_call_time(backend: FakeBackend) -> None:
    first = await backend.value("query", "misc.js:world")
    again = await backend.value("query", "misc.js:world")
    assert first == again
    assert first["time"] == backend.now_ms / 1000
    assert first["now"] == "2023-11-14T22:13:20+00:00"
    assert first["today"] == "2023-11-14"
    backend.seed += 1
    reseeded = await backend.value("query", "misc.js:world")
    for key in ("random", "randint", "own_random", "uuid", "token", "urandom"):
        assert reseeded[key] != first[key], key
    assert reseeded["time"] == first["time"]
    backend.now_ms += 86_400_000
    assert (await backend.value("query", "misc.js:world"))["today"] == "2023-11-15"


async def test_actions_see_the_real_world(backend: FakeBackend) -> None:
    one = await backend.value("action", "misc.js:real_world")
    two = await backend.value("action", "misc.js:real_world")
    assert one["random"] != two["random"]
    assert one["time"] > backend.now_ms / 1000


@pytest.fixture
def local_server() -> Iterator[str]:
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello from loopback")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


async def test_network_is_refused_in_queries_and_allowed_in_actions(
    backend: FakeBackend, local_server: str
) -> None:
    result = await backend.call("query", "misc.js:fetch", {"url": local_server})
    assert result.error_message is not None
    assert "network access is only allowed in actions" in result.error_message
    assert 'File "misc.py"' in result.error_message
    fetched = await backend.value("action", "misc.js:fetch_in_action", {"url": local_server})
    assert fetched == "hello from loopback"


async def test_deployment_environment_variables_are_visible_and_restored(
    backend: FakeBackend,
) -> None:
    backend.env = {"BAYOU_TEST_SECRET": "s3cret"}
    assert await backend.value("query", "misc.js:env", {"name": "BAYOU_TEST_SECRET"}) == "s3cret"
    backend.env = {}
    assert await backend.value("query", "misc.js:env", {"name": "BAYOU_TEST_SECRET"}) is None
    # The server's own environment does not leak into functions.
    assert await backend.value("query", "misc.js:env", {"name": "PYTEST_CURRENT_TEST"}) is None


async def test_print_and_logging_become_log_lines(backend: FakeBackend) -> None:
    result = await backend.call("query", "misc.js:logs")
    assert result.ok
    lines = [(line["level"], line["messages"]) for line in result.log_lines]
    assert lines == [
        ("LOG", ["hello world"]),
        ("INFO", ["info 1"]),
        ("WARN", ["careful"]),
        ("ERROR", ["bad"]),
        ("LOG", ["no newline"]),
    ]
    assert all(line["isTruncated"] is False for line in result.log_lines)
    # Log timestamps are real time, not the frozen clock of the query.
    assert all(line["timestamp"] > backend.now_ms for line in result.log_lines)


async def test_log_lines_are_capped_and_truncated(backend: FakeBackend) -> None:
    result = await backend.value("query", "misc.js:chatty", {"n": 3})
    assert result == 3.0
    few = await backend.call("query", "misc.js:chatty", {"n": 3})
    long_line = few.log_lines[-1]
    assert long_line["isTruncated"] is True
    assert len(long_line["messages"][0]) == 32768
    many = await backend.call("query", "misc.js:chatty", {"n": 300})
    assert len(many.log_lines) == 256
    assert many.log_lines[-1]["messages"] == [
        "Log overflow (maximum 256). Remaining log lines omitted."
    ]


INLINE = """
import datetime
import os

from bayou import query

MODE = os.environ.get("MODE")


@query
def mode(ctx):
    return MODE


@query
def dates(ctx):
    now = datetime.datetime.now()
    built = datetime.datetime(2020, 1, 2, 3, 4, 5)
    return {
        "now_is_datetime": isinstance(now, datetime.datetime),
        "built_is_datetime": isinstance(built, datetime.datetime),
        "date_is_date": isinstance(datetime.date.today(), datetime.date),
        "utcnow": datetime.datetime.utcnow().isoformat(),
        "later": (built + datetime.timedelta(days=1)).isoformat(),
        "parsed": datetime.datetime.fromisoformat("2021-05-06T07:08:09").year,
    }
"""


async def test_module_level_code_sees_the_environment_it_runs_with(
    runtime: PythonRuntime,
) -> None:
    await runtime.load("inline-env", modules({"inline.py": INLINE}))
    backend = FakeBackend(runtime, "inline-env", None)
    backend.env = {"MODE": "blue"}
    assert await backend.value("query", "inline.js:mode") == "blue"
    backend.env = {"MODE": "green"}
    assert await backend.value("query", "inline.js:mode") == "green"


async def test_frozen_datetimes_are_still_datetimes(runtime: PythonRuntime) -> None:
    await runtime.load("inline-dates", modules({"inline.py": INLINE}))
    backend = FakeBackend(runtime, "inline-dates", None)
    assert await backend.value("query", "inline.js:dates") == {
        "now_is_datetime": True,
        "built_is_datetime": True,
        "date_is_date": True,
        "utcnow": "2023-11-14T22:13:20",
        "later": "2020-01-03T03:04:05",
        "parsed": 2021.0,
    }
