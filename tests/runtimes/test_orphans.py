"""Workers never outlive their server: SIGKILL a server process whose JavaScript and Python
workers are busy (an endless loop, a long sleep) and idle, and none of them survives.

A worker notices its server's death through the parent-death signal the confinement
launcher arms (and, when idle, through the end of its pipe), so a restarted server never
finds stray workers of the previous one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

SERVER = r'''
import asyncio, json, sys
from bayou.runtimes.base import Invocation, RuntimeModule
from bayou.runtimes.js import JsRuntime, Module
from bayou.runtimes.python.host import PythonRuntime

JS = """
export const spin = { isQuery: true, isPublic: true, invokeQuery: async () => { for (;;) {} } };
export const wait = { isAction: true, isPublic: true,
  invokeAction: async () => { await new Promise((r) => setTimeout(r, 600000)); return "null"; } };
"""
NODE = """
export const wait = { isAction: true, isPublic: true,
  invokeAction: async () => { await new Promise((r) => setTimeout(r, 600000)); return "null"; } };
"""
PY = """
import time
from bayou import action, query

@query
def spin(ctx):
    while True:
        pass

@action
def nap(ctx):
    time.sleep(600)
"""


class Nothing:
    async def async_syscall(self, op, args):
        return None


def call(runtime, version, kind, path):
    invocation = Invocation(version=version, udf_type=kind, path=path, args_json="[{}]",
                            timeout_s=600)
    return asyncio.ensure_future(runtime.invoke(invocation, Nothing()))


async def main():
    js = JsRuntime(node=sys.argv[1], workers=2, action_workers=1)
    py = PythonRuntime(min_idle=2)
    await js.start()
    await py.start()
    await js.load("v", [Module("m.js", JS), Module("n.js", NODE, environment="node")])
    await py.load("v", [RuntimeModule("m.py", PY, None, "python")])
    busy = [
        call(js, "v", "query", "m.js:spin"),
        call(js, "v", "action", "m.js:wait"),
        call(js, "v", "action", "n.js:wait"),
        call(py, "v", "query", "m:spin"),
        call(py, "v", "action", "m:nap"),
    ]
    while not js.worker_pids()["node"] or py.workers < 4:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # the calls are running
    pids = {"js": js.worker_pids(), "python": py.worker_pids()}
    print(json.dumps(pids), flush=True)
    await asyncio.gather(*busy)


asyncio.run(main())
'''


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_no_worker_survives_its_server_killed_while_busy_and_idle(
    tmp_path: Path, node: str
) -> None:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    server = subprocess.Popen(
        [sys.executable, str(script), node], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line, "the server script did not start its workers"
        pids = json.loads(line)
        workers = [pid for runtime in pids.values() for role in runtime.values() for pid in role]
        assert len(workers) >= 8  # 2 udf, 1 action, 1 node; 2 + 2 Python (busy and idle)
        assert all(alive(pid) for pid in workers)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if alive(pid)]
    for pid in survivors:  # don't leave them spinning on the test machine
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
