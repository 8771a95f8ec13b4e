"""Bad input and a broken environment on a real `bayou serve` (issue 10 §2 and §6).

Each test sends what a careless or hostile client (or a full or read-only disk) produces,
checks the answer, and then that nothing changed and the server keeps serving:

- compressed bodies that expand to gigabytes are refused with 413 while the server's peak
  memory (VmHWM of its process, from /proc) grows by no more than the body limit;
- a header that is not UTF-8 gets an answer, never a 500;
- a malformed body on any deploy endpoint gets 400 naming the field;
- a full disk reaches the client and the server log as "the disk is full";
- a read-only data directory stops start-up with one line naming the path and the fix;
- an action whose HTTP client disconnected stops (it no longer writes);
- `/echo` is bounded; a `ModifyQuerySet` before `Connect` ends that session.

Mounts (tmpfs, read-only bind mounts) need root; without it those tests are skipped,
except under CI=true where they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import brotli
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bayou.server.http import PUBLIC_API_MAX_BODY, PUSH_MAX_BODY
from tests.compat.conftest import BayouServer, ConvexApp, app_copy, free_port, run_cli, start_server
from tests.conftest import IN_CI

pytestmark = pytest.mark.compat

APP = Path(__file__).parent / "limits_app"
PY_APP = Path(__file__).parent / "limits_py_app"
MiB = 1024 * 1024
TOO_LARGE = "Failed to buffer the request body: length limit exceeded"
_BAYOU = [sys.executable, "-c", "from bayou.cli.main import app; app()"]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, node: str, js_dir: Path) -> Iterator[ConvexApp]:
    base = tmp_path_factory.mktemp("limits")
    server = start_server(base / "data")
    try:
        yield deploy_app(base, server, node, js_dir)
    finally:
        server.stop()


def deploy_app(base: Path, server: BayouServer, node: str, js_dir: Path) -> ConvexApp:
    return app_copy(APP, base, server, node, js_dir).deploy()


# -- HTTP helpers ----------------------------------------------------------------------


def request(
    server: BayouServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str | bytes] | None = None,
    timeout: float = 120,
) -> tuple[int, http.client.HTTPResponse, bytes]:
    """One request with headers sent byte for byte (values may be any octets)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response, response.read()
    finally:
        conn.close()


def post_json(server: BayouServer, path: str, body: Any, *, key: str | None = None) -> Any:
    headers: dict[str, str | bytes] = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Convex {key}"
    status, _, data = request(server, "POST", path, orjson.dumps(body), headers)
    assert status == 200, (status, data)
    return orjson.loads(data)


def run_function(server: BayouServer, kind: str, path: str, args: dict[str, Any]) -> Any:
    out = post_json(server, f"/api/{kind}", {"path": path, "args": args, "format": "json"})
    assert out["status"] == "success", out
    return out["value"]


def config_hashes(server: BayouServer) -> Any:
    return post_json(server, "/api/get_config_hashes", {}, key=server.admin_key)


def peak_rss(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def eventually(read: Callable[[], Any], accept: Callable[[Any], bool], what: str) -> Any:
    """Poll `read` until `accept` holds (a generous deadline: this is not a timing test)."""
    deadline = time.monotonic() + 60
    while True:
        value = read()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r}")
        time.sleep(0.05)


# -- §2 decompression bombs ------------------------------------------------------------


@functools.cache
def bomb(coding: str, size: int) -> bytes:
    """`size` zero bytes, compressed: a few KB (br) or ~0.1% (gzip, deflate) of `size`."""
    chunk = b"\0" * MiB
    if coding == "br":
        compressor = brotli.Compressor(quality=5)
        parts = [compressor.process(chunk) for _ in range(size // MiB)]
        return b"".join([*parts, compressor.finish()])
    z = zlib.compressobj(9, wbits=31 if coding == "gzip" else 15)
    parts = [z.compress(chunk) for _ in range(size // MiB)]
    return b"".join([*parts, z.flush()])


@pytest.mark.parametrize(("coding", "size"), [("br", 1024 * MiB), ("gzip", 256 * MiB)])
def test_a_decompression_bomb_without_a_key_is_refused_within_the_limit(
    app: ConvexApp, coding: str, size: int
) -> None:
    server = app.server
    body = bomb(coding, size)
    before = peak_rss(server.pid)
    status, _, data = request(
        server,
        "POST",
        "/api/query",
        body,
        {"Content-Type": "application/json", "Content-Encoding": coding},
    )
    grown = peak_rss(server.pid) - before
    # At most the limit (16 MiB) and one decoding step, with room for the allocator.
    assert grown < 100 * MiB, f"{len(body)} bytes of {coding} grew the peak RSS by {grown}"
    assert status == 413, data
    error = orjson.loads(data)
    assert error["code"] == "BadJsonBody"
    assert error["message"].startswith(TOO_LARGE)
    assert str(PUBLIC_API_MAX_BODY) in error["message"]
    assert run_function(server, "query", "ticks:count", {"run": "none"}) == 0


def test_a_decompression_bomb_in_a_push_is_refused_within_the_push_limit(
    app: ConvexApp,
) -> None:
    server = app.server
    hashes = config_hashes(server)
    before = peak_rss(server.pid)
    status, _, data = request(
        server,
        "POST",
        "/api/deploy2/start_push",
        bomb("br", 1024 * MiB),
        {
            "Content-Type": "application/json",
            "Content-Encoding": "br",
            "Authorization": f"Convex {server.admin_key}",
        },
    )
    grown = peak_rss(server.pid) - before
    assert grown < PUSH_MAX_BODY + 100 * MiB, f"the peak RSS grew by {grown}"
    assert status == 413, data
    assert orjson.loads(data)["message"].startswith(TOO_LARGE)
    assert config_hashes(server) == hashes


def test_compressed_bodies_within_the_limit_are_read(app: ConvexApp) -> None:
    body = orjson.dumps({"path": "ticks:count", "args": {"run": "x" * 100_000}})
    for coding, data in (
        ("br", brotli.compress(body)),
        ("gzip", zlib.compress(body, wbits=31)),
        ("deflate", zlib.compress(body)),
    ):
        status, _, answer = request(
            app.server,
            "POST",
            "/api/query",
            data,
            {"Content-Type": "application/json", "Content-Encoding": coding},
        )
        assert status == 200, (coding, answer)
        assert orjson.loads(answer)["value"] == 0


def test_a_body_declared_or_sent_over_the_limit_is_refused_with_413(app: ConvexApp) -> None:
    server = app.server
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.putrequest("POST", "/api/query")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(PUBLIC_API_MAX_BODY + 1))
        conn.endheaders()  # and no body: the declared length is enough to refuse it
        response = conn.getresponse()
        assert response.status == 413
        assert orjson.loads(response.read())["message"].startswith(TOO_LARGE)
    finally:
        conn.close()
    status, _, data = request(
        server,
        "POST",
        "/api/query",
        b" " * (PUBLIC_API_MAX_BODY + 1),
        {"Content-Type": "application/json"},
    )
    assert status == 413, data


# -- §6 headers that are not UTF-8 -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "extra"),
    [
        ("GET", "/version", {}),
        ("GET", "/", {}),
        ("GET", "/no/such/route", {}),
        ("POST", "/api/query", {"Content-Type": "application/json"}),
        ("POST", "/api/deploy2/start_push", {"Content-Type": "application/json"}),
        (
            "OPTIONS",
            "/api/query",
            {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": b"x-\xff"},
        ),
        ("POST", "/api/query", {"Content-Type": "application/json", "User-Agent": b"\xe9"}),
        ("GET", "/api/check_admin_key", {"Authorization": b"Convex \xe9\xff"}),
    ],
)
def test_a_header_that_is_not_utf8_gets_an_answer(
    app: ConvexApp, method: str, path: str, extra: dict[str, str | bytes]
) -> None:
    body = orjson.dumps({"path": "ticks:count", "args": {"run": "h"}}) if method == "POST" else None
    status, response, data = request(
        app.server, method, path, body, {"Origin": b"http://\xe9vil", **extra}
    )
    assert status < 500, (status, data)
    # The Origin is mirrored as sent (http.client reads header bytes as latin-1).
    assert response.getheader("access-control-allow-origin") == "http://\xe9vil"
    assert request(app.server, "GET", "/version")[0] == 200


# -- §6 malformed deploy bodies --------------------------------------------------------

SCHEMA_CHANGE = {"allocatedComponentIds": {}, "schemaIds": {"": "x"}, "indexDiffs": {}}
APP_DEFINITION = {
    "definition": None,
    "dependencies": [],
    "schema": None,
    "changedModules": [],
    "unchangedModuleHashes": [],
    "udfServerVersion": "1.0.0",
}
START_PUSH = {
    "adminKey": "k",
    "dryRun": True,
    "functions": "convex/",
    "appDefinition": APP_DEFINITION,
    "componentDefinitions": [],
    "nodeDependencies": [],
    "nodeVersion": "20",
}
MODULE = {"path": "a.js", "source": "", "environment": "isolate"}
BODIES: dict[str, dict[str, Any]] = {
    "/api/get_config_hashes": {"version": "1.0", "adminKey": "k"},
    "/api/deploy2/start_push": START_PUSH,
    "/api/deploy2/evaluate_push": START_PUSH,
    "/api/deploy2/evaluate_schema": START_PUSH,
    "/api/deploy2/wait_for_schema": {
        "adminKey": "k",
        "schemaChange": SCHEMA_CHANGE,
        "timeoutMs": 10,
        "dryRun": False,
    },
    "/api/deploy2/finish_push": {
        "adminKey": "k",
        "startPush": {"schemaChange": SCHEMA_CHANGE, "bayouPushId": "x"},
        "dryRun": False,
        "message": "m",
    },
    "/api/deploy2/report_push_completed": {"adminKey": "k", "spans": []},
}
# (field, a value of the wrong type) for every field of every endpoint; "" is the body.
START_PUSH_FIELDS = [
    ("", 5),
    ("adminKey", 5),
    ("dryRun", "yes"),
    ("functions", 5),
    ("appDefinition", 5),
    ("appDefinition", None),
    ("appDefinition.definition", 5),
    ("appDefinition.definition", {"path": "a.js"}),
    ("appDefinition.dependencies", "x"),
    ("appDefinition.schema", [MODULE]),
    ("appDefinition.changedModules", 5),
    ("appDefinition.changedModules", [5]),
    ("appDefinition.changedModules", [{**MODULE, "source": 5}]),
    ("appDefinition.changedModules", [{**MODULE, "sourceMap": 5}]),
    ("appDefinition.changedModules", [{**MODULE, "environment": 5}]),
    ("appDefinition.unchangedModuleHashes", [{"path": "a.js"}]),
    ("appDefinition.unchangedModuleHashes", ["a.js"]),
    ("appDefinition.udfServerVersion", 1),
    ("componentDefinitions", {}),
    ("nodeDependencies", "x"),
    ("nodeVersion", 20),
]
FIELDS: dict[str, list[tuple[str, Any]]] = {
    "/api/get_config_hashes": [("", []), ("adminKey", 5), ("version", 5)],
    "/api/deploy2/start_push": START_PUSH_FIELDS,
    "/api/deploy2/evaluate_push": START_PUSH_FIELDS,
    "/api/deploy2/evaluate_schema": START_PUSH_FIELDS,
    "/api/deploy2/wait_for_schema": [
        ("", "x"),
        ("adminKey", 5),
        ("schemaChange", 5),
        ("schemaChange", None),
        ("schemaChange.schemaIds", 5),
        ("schemaChange.schemaIds", {"": 5}),
        ("schemaChange.allocatedComponentIds", []),
        ("schemaChange.indexDiffs", 5),
        ("timeoutMs", "abc"),
        ("timeoutMs", -1),
        ("dryRun", 1),
    ],
    "/api/deploy2/finish_push": [
        ("", None),
        ("adminKey", 5),
        ("startPush", 5),
        ("startPush", None),
        ("startPush.schemaChange", 5),
        ("startPush.schemaChange.schemaIds", []),
        ("startPush.bayouPushId", 5),
        ("dryRun", "no"),
        ("message", 5),
    ],
    "/api/deploy2/report_push_completed": [("", 5), ("adminKey", 5), ("spans", {})],
}
CASES = [(endpoint, field, value) for endpoint, fields in FIELDS.items() for field, value in fields]


def malformed(endpoint: str, field: str, value: Any) -> Any:
    """The endpoint's body with `field` (a dotted path; "" the whole body) set to `value`
    (`appDefinition.changedModules` style lists replace the whole list)."""
    if not field:
        return value
    body = json.loads(json.dumps(BODIES[endpoint]))
    *parents, name = field.split(".")
    target = body
    for parent in parents:
        target = target[parent]
    if value is None:
        target.pop(name, None)
    else:
        target[name] = value
    return body


def test_every_deploy_body_used_here_is_valid_but_for_its_malformed_field() -> None:
    from bayou.deploy import requests

    for endpoint, body in BODIES.items():
        requests.check(endpoint, body)


@pytest.mark.parametrize(("endpoint", "field", "value"), CASES)
def test_a_malformed_deploy_body_gets_400_naming_the_field(
    app: ConvexApp, endpoint: str, field: str, value: Any
) -> None:
    server = app.server
    hashes = config_hashes(server)
    status, _, data = request(
        server,
        "POST",
        endpoint,
        orjson.dumps(malformed(endpoint, field, value)),
        {"Content-Type": "application/json", "Authorization": f"Convex {server.admin_key}"},
    )
    assert status == 400, (status, data)
    error = orjson.loads(data)
    assert error["code"] == "BadJsonBody"
    assert (field or "the body") in error["message"], error
    assert config_hashes(server) == hashes


# -- §6 a disconnected client's action ------------------------------------------------


@pytest.fixture(scope="module")
def py_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BayouServer]:
    """A server with the Python twin of the app, pushed with `bayou deploy`."""
    base = tmp_path_factory.mktemp("limits-py")
    server = start_server(base / "data")
    try:
        work = base / "app"
        shutil.copytree(PY_APP, work, ignore=shutil.ignore_patterns("__pycache__"))
        run_cli("bayou", _BAYOU, ["deploy"], cwd=work, server=server)
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/action", {"path": "ticks:tickForever"}),
        ("/api/run/ticks/tickForever", {}),
    ],
)
def test_an_action_stops_when_its_http_client_disconnects(
    app: ConvexApp, path: str, body: dict[str, Any]
) -> None:
    assert_action_stops_when_its_client_disconnects(app.server, path, body)


def test_a_python_action_stops_when_its_http_client_disconnects(py_server: BayouServer) -> None:
    assert_action_stops_when_its_client_disconnects(
        py_server, "/api/action", {"path": "ticks:tick_forever"}
    )


def assert_action_stops_when_its_client_disconnects(
    server: BayouServer, path: str, body: dict[str, Any]
) -> None:
    run = uuid.uuid4().hex
    payload = orjson.dumps({**body, "args": {"run": run}})
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", path, payload, {"Content-Type": "application/json"})

    def count() -> int:
        return run_function(server, "query", "ticks:count", {"run": run})

    eventually(count, lambda n: n >= 3, "the action did not start writing")
    conn.close()  # the client goes away without reading the answer
    # The action writes every 100 ms while it runs: a count that stays put for a whole
    # second means it stopped.
    last = [count()]

    def unchanged_for_a_second() -> bool:
        time.sleep(1.0)
        now = count()
        stable, last[0] = now == last[0], now
        return stable

    eventually(unchanged_for_a_second, bool, "the action kept writing")
    stopped_at = last[0]
    time.sleep(1.0)
    assert count() == stopped_at
    assert request(server, "GET", "/version")[0] == 200


# -- §6 /echo ----------------------------------------------------------------------------


def test_echo_answers_what_the_network_test_sends_and_refuses_more(app: ConvexApp) -> None:
    server = app.server
    data = os.urandom(4 * MiB)  # what `npx convex network-test` sends
    status, _, echoed = request(server, "POST", "/echo", data)
    assert status == 200 and echoed == data
    status, _, answer = request(server, "POST", "/echo", b"x" * (PUBLIC_API_MAX_BODY + 1))
    assert status == 413, answer
    assert orjson.loads(answer)["message"].startswith(TOO_LARGE)
    # Compressed bytes come back as sent, never decompressed (as on Convex).
    compressed = bomb("br", 1024 * MiB)
    status, _, echoed = request(server, "POST", "/echo", compressed, {"Content-Encoding": "br"})
    assert status == 200 and echoed == compressed


def test_a_log_cursor_that_is_not_a_finite_number_gets_400(app: ConvexApp) -> None:
    headers: dict[str, str | bytes] = {"Authorization": f"Convex {app.server.admin_key}"}
    for cursor in ("nan", "inf", "abc"):
        status, _, data = request(
            app.server, "GET", f"/api/stream_function_logs?cursor={cursor}", None, headers
        )
        assert status == 400, data
        assert orjson.loads(data)["code"] == "InvalidCursor"


# -- §6 the sync protocol ----------------------------------------------------------------


async def test_modify_query_set_before_connect_ends_that_session(app: ConvexApp) -> None:
    url = app.server.url.replace("http://", "ws://") + "/api/1.48.0/sync"
    modify = {"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": []}
    async with connect(url, max_size=None, ping_interval=None) as ws:
        # The server takes no compression: a compressed frame would expand on its loop.
        assert not ws.protocol.extensions
        await ws.send(orjson.dumps(modify).decode())
        message = orjson.loads(await asyncio.wait_for(ws.recv(), 20))
        assert message["type"] == "FatalError"
        assert "ModifyQuerySet was sent before Connect" in message["error"]
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 20)
    async with connect(url, max_size=None, ping_interval=None) as ws:
        connect_message = {"type": "Connect", "sessionId": str(uuid.uuid4()), "connectionCount": 0}
        await ws.send(orjson.dumps(connect_message).decode())
        await ws.send(orjson.dumps(modify).decode())
        while (message := orjson.loads(await asyncio.wait_for(ws.recv(), 20)))["type"] == "Ping":
            pass
        assert message["type"] == "Transition"


# -- §6 a full disk and a read-only data directory ---------------------------------------


def mount(*args: str) -> None:
    """`mount args…`, or skip (fail under CI) when this process may not mount."""
    try:
        subprocess.run(["mount", *args], check=True, capture_output=True, text=True, timeout=30)
    except (subprocess.CalledProcessError, OSError) as e:
        detail = getattr(e, "stderr", None) or str(e)
        message = f"cannot mount ({detail.strip()}): this test needs root or CAP_SYS_ADMIN"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def unmount(path: Path) -> None:
    result = subprocess.run(["umount", str(path)], capture_output=True, timeout=30)
    if result.returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@contextlib.contextmanager
def mounted(target: Path, *args: str) -> Iterator[Path]:
    if not target.exists():
        target.mkdir(parents=True)
    mount(*args, str(target))
    try:
        yield target
    finally:
        unmount(target)


def fill(directory: Path) -> Path:
    """A file that takes every free byte of `directory`'s file system."""
    filler = directory / "filler"
    # Unbuffered: the write that fills the disk fails, and closing has nothing left to flush.
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_a_full_disk_reaches_the_client_and_the_log_and_changes_nothing(
    tmp_path: Path, node: str, js_dir: Path
) -> None:
    with mounted(tmp_path / "data", "-t", "tmpfs", "-o", "size=24m", "tmpfs") as data:
        server = start_server(data)
        try:
            deploy_app(tmp_path, server, node, js_dir)
            stored = run_function(server, "query", "blobs:count", {})
            filler = fill(data)
            big = "x" * 900_000
            error = None
            for _ in range(40):
                out = post_json(
                    server, "/api/mutation", {"path": "blobs:store", "args": {"body": big}}
                )
                if out["status"] == "error":
                    error = out["errorMessage"]
                    break
                stored += 1
            assert error is not None, "the disk never filled up"
            assert "the disk is full" in error, error
            assert "no transaction is active" not in error
            log = eventually(server.log_tail, lambda t: "the disk is full" in t, "no log line")
            assert "commit(s) failed" in log
            # Reads still work, and the failed write left nothing behind.
            assert run_function(server, "query", "blobs:count", {}) == stored
            filler.unlink()
            run_function(server, "mutation", "blobs:store", {"body": "after"})
            assert run_function(server, "query", "blobs:count", {}) == stored + 1
        finally:
            server.stop()


def serve_once(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`bayou serve` on `data_dir`, expected to fail at start-up."""
    ports = ["--port", str(free_port()), "--site-port", str(free_port())]
    return subprocess.run(
        [*_BAYOU, "serve", "--data-dir", str(data_dir), *ports],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_naming(result: subprocess.CompletedProcess[str], path: Path) -> None:
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 1, lines
    assert len(lines) == 1, "\n".join(lines)
    assert str(path) in lines[0], lines[0]
    assert "--data-dir" in lines[0] and "DATA_DIR" in lines[0], lines[0]


def test_a_read_only_data_directory_stops_start_up_with_one_line(tmp_path: Path) -> None:
    used = tmp_path / "used"
    start_server(used).stop()  # a data directory that served once
    with mounted(tmp_path / "ro", "--bind", str(used)) as ro:
        mount("-o", "remount,bind,ro", str(ro))
        assert_one_line_naming(serve_once(ro), ro)
        # Its lock file writable, the directory not: SQLite cannot make its journal files.
        lock = tmp_path / "lock"
        lock.touch()
        with mounted(ro / "db.sqlite3.lock", "--bind", str(lock)):
            result = serve_once(ro)
            assert_one_line_naming(result, ro / "db.sqlite3")
            assert "read-only" in result.stderr
    with mounted(tmp_path / "empty", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs") as empty:
        assert_one_line_naming(serve_once(empty), empty)
