"""Python function code cannot reach the server's secrets, files or processes.

Python functions run as ordinary Python, so every way out is tried from inside a
function: files (the credentials, the SQLite database, `/proc/<server>/environ`), the
environment, a raw `_socket`, `subprocess`, `ctypes`, signals to the server, file writes.
The worker processes are confined by the OS (`bayou.runtimes.confinement`), so none of it
works in queries and mutations, and actions — which may use the network and start
processes — still reach nothing of the server's.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bayou.runtimes.base import Invocation
from bayou.runtimes.python.host import PythonRuntime
from tests.runtimes.python.conftest import modules
from tests.runtimes.sandbox_fixtures import SERVER_SECRETS, make_data_dir

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

VERSION = "confined"
PROBE = """
import json
import os

from bayou import action, mutation, query


def attempt(fn):
    try:
        return "ALLOWED " + repr(fn())[:60]
    except BaseException as e:  # whatever the OS says
        return f"DENIED {type(e).__name__}: {e}"[:120]


def run_process():
    import subprocess

    return subprocess.run(["/bin/sh", "-c", "id"], capture_output=True, check=True).stdout


def raw_socket(port):
    import _socket

    s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    s.connect(("127.0.0.1", port))
    s.close()
    return "connected"


def sqlite_rows(path):
    import sqlite3

    return sqlite3.connect(path).execute("SELECT body FROM documents").fetchall()


def kill_through_ctypes():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.kill(os.getppid(), 0) != 0:
        raise PermissionError(ctypes.get_errno(), "kill refused")
    return "signalled"


def probe(paths):
    out = {}
    for name in ("INSTANCE_SECRET", "POSTGRES_URL", "AWS_SECRET_ACCESS_KEY"):
        out["env " + name] = "ALLOWED" if name in os.environ else "DENIED absent"
    out["read credentials"] = attempt(lambda: open(paths["credentials"]).read())
    out["read database"] = attempt(lambda: open(paths["database"], "rb").read(16))
    out["query database"] = attempt(lambda: sqlite_rows(paths["database"]))
    out["list data directory"] = attempt(lambda: os.listdir(paths["data_dir"]))
    out["read server environ"] = attempt(lambda: open(f"/proc/{os.getppid()}/environ").read())
    out["signal the server"] = attempt(lambda: os.kill(os.getppid(), 0))
    out["signal through ctypes"] = attempt(kill_through_ctypes)
    out["write a file"] = attempt(lambda: open(paths["scratch"], "w").write("x"))
    out["run a process"] = attempt(run_process)
    out["raw socket"] = attempt(lambda: raw_socket(paths["port"]))
    return out


@query
def in_query(ctx, paths: dict):
    return json.dumps(probe(paths))


@mutation
def in_mutation(ctx, paths: dict):
    return json.dumps(probe(paths))


@action
def in_action(ctx, paths: dict):
    return json.dumps(probe(paths))
"""


class NoSyscalls:
    async def async_syscall(self, op: str, args: Any) -> Any:
        return None


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.fixture
def targets(tmp_path: Path, listener: int) -> dict[str, Any]:
    paths: dict[str, Any] = make_data_dir(tmp_path)
    paths["scratch"] = str(tmp_path / "written-by-a-function")
    paths["port"] = listener
    return paths


@pytest.fixture
async def runtime(
    targets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[PythonRuntime]:
    for name, value in SERVER_SECRETS.items():
        monkeypatch.setenv(name, value)  # as `bayou serve` may have them
    rt = PythonRuntime(min_idle=0, private_dirs=[targets["data_dir"]])
    await rt.start()
    await rt.load(VERSION, modules({"probe.py": PROBE}))
    try:
        yield rt
    finally:
        await rt.close()


async def probe(runtime: PythonRuntime, kind: str, targets: dict[str, Any]) -> dict[str, str]:
    name = {"query": "in_query", "mutation": "in_mutation", "action": "in_action"}[kind]
    result = await runtime.invoke(
        Invocation(
            version=VERSION,
            udf_type=kind,
            path=f"probe.js:{name}",
            args_json=json.dumps([{"paths": targets}]),
        ),
        NoSyscalls(),
    )
    assert result.ok, result.error_message
    outcomes: dict[str, str] = json.loads(json.loads(result.value_json or '""'))
    return outcomes


@pytest.mark.parametrize("kind", ["query", "mutation"])
async def test_queries_and_mutations_reach_nothing_outside_their_modules(
    runtime: PythonRuntime, targets: dict[str, Any], kind: str
) -> None:
    outcomes = await probe(runtime, kind, targets)
    allowed = {name: what for name, what in outcomes.items() if not what.startswith("DENIED")}
    assert allowed == {}
    assert not Path(targets["scratch"]).exists()


async def test_actions_reach_the_network_but_nothing_of_the_server(
    runtime: PythonRuntime, targets: dict[str, Any]
) -> None:
    outcomes = await probe(runtime, "action", targets)
    assert outcomes.pop("raw socket") == "ALLOWED 'connected'"
    assert outcomes.pop("run a process").startswith("ALLOWED")
    allowed = {name: what for name, what in outcomes.items() if not what.startswith("DENIED")}
    assert allowed == {}
