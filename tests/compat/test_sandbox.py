"""Function code reaches nothing of the server, end to end: a real `bayou serve` (started
with secrets in its environment), an app deployed with the official `npx convex deploy`,
functions run with `npx convex run`.

- the escape battery (tests/runtimes/js/escapes.py) finds no way from a query, mutation
  or action to the host, and a `"use node"` action, which is Node by design, can read
  neither the server's environment nor its data directory;
- a 100 MB result is refused with Convex's message;
- the data directory is closed to other users, the log says how workers are confined;
- a server killed with SIGKILL leaves no worker behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import TEST_APP, ConvexApp, start_server
from tests.runtimes.js.escapes import BATTERY
from tests.runtimes.sandbox_fixtures import SERVER_SECRETS

pytestmark = [
    pytest.mark.compat,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux confinement"),
]

ESCAPE_TS = (
    "// @ts-nocheck\n"
    'import { action, mutation, query } from "./_generated/server";\n'
    + BATTERY
    + """
export const inQuery = query({ args: {}, handler: async () => JSON.stringify(await escapeBattery()) });
export const inMutation = mutation({ args: {}, handler: async () => JSON.stringify(await escapeBattery()) });
export const inAction = action({ args: {}, handler: async () => JSON.stringify(await escapeBattery()) });
"""
)
LIMITS_TS = """
import { action, query } from "./_generated/server";

export const big = query({ args: {}, handler: async () => "x".repeat(100 * 2 ** 20) });
export const spin = action({
  args: {},
  handler: async () => {
    for (;;) {}
  },
});
"""
NODE_TS = """
"use node";
// @ts-nocheck
import { readFileSync, readdirSync } from "node:fs";
import { action } from "./_generated/server";

const attempt = (fn) => {
  try {
    return "ALLOWED " + String(fn()).slice(0, 40);
  } catch (e) {
    return "DENIED " + (e.code || e.message);
  }
};

export const probe = action({
  args: {},
  handler: async (ctx, args) => {
    const dataDir = process.env.PROBE_DATA_DIR;
    return JSON.stringify({
      "env INSTANCE_SECRET": "INSTANCE_SECRET" in process.env ? "ALLOWED" : "DENIED",
      "env POSTGRES_URL": "POSTGRES_URL" in process.env ? "ALLOWED" : "DENIED",
      "env AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY" in process.env ? "ALLOWED" : "DENIED",
      "read credentials": attempt(() => readFileSync(dataDir + "/credentials/instance_secret", "utf8")),
      "read database": attempt(() => readFileSync(dataDir + "/db.sqlite3").length),
      "list data directory": attempt(() => readdirSync(dataDir)),
      "read server environ": attempt(() => readFileSync(`/proc/${process.ppid}/environ`).length),
      "signal the server": attempt(() => process.kill(process.ppid, 0)),
    });
  },
});
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, node: str, js_dir: Path) -> Iterator[ConvexApp]:
    base = tmp_path_factory.mktemp("sandbox")
    # The server's secrets (not POSTGRES_URL: this server keeps SQLite).
    secrets = {k: v for k, v in SERVER_SECRETS.items() if k != "POSTGRES_URL"}
    server = start_server(base / "data", env=secrets)
    try:
        work = base / "app"
        (work / "convex").mkdir(parents=True)
        shutil.copy(TEST_APP / "package.json", work / "package.json")
        (work / "convex" / "escape.ts").write_text(ESCAPE_TS)
        (work / "convex" / "limits.ts").write_text(LIMITS_TS)
        (work / "convex" / "nodeProbe.ts").write_text(NODE_TS)
        (work / "node_modules").symlink_to(js_dir / "node_modules")
        deployed = ConvexApp(work, server, node, js_dir)
        # The probe learns where the data directory is the way any function could guess it.
        deployed.cli("env", "set", "PROBE_DATA_DIR", str(server.data_dir.resolve()))
        yield deployed.deploy()
    finally:
        server.stop()


def run(app: ConvexApp, name: str, *, check: bool = True) -> Any:
    out = app.cli("run", name, "{}", check=check)
    return out if not check else json.loads(out.stdout)


@pytest.mark.parametrize("name", ["escape:inQuery", "escape:inMutation", "escape:inAction"])
def test_no_known_escape_reaches_the_server_from_a_deployed_function(
    app: ConvexApp, name: str
) -> None:
    outcomes = json.loads(run(app, name))
    assert len(outcomes) > 80
    assert {k: v for k, v in outcomes.items() if v.startswith("ESCAPED")} == {}


def test_a_use_node_action_reads_nothing_of_the_server(app: ConvexApp) -> None:
    outcomes = json.loads(run(app, "nodeProbe:probe"))
    assert {k: v for k, v in outcomes.items() if not v.startswith("DENIED")} == {}


def test_a_100_mb_result_is_refused_with_convex_s_message(app: ConvexApp) -> None:
    out = run(app, "limits:big", check=False)
    assert out.returncode != 0
    assert "Function limits.js:big return value is too large" in out.stdout + out.stderr
    assert "limit: 16 MiB" in out.stdout + out.stderr


def test_the_data_directory_is_the_server_s_alone_and_the_log_says_how_workers_run(
    app: ConvexApp,
) -> None:
    # Made by the harness with the default 0755: others' access was taken off at start.
    assert app.server.data_dir.stat().st_mode & 0o007 == 0
    assert "function workers:" in app.server.log_tail(100_000)


def worker_pids(server_pid: int) -> list[int]:
    """The processes whose parent is the server (its workers)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == server_pid and fields[0] != "Z":
            children.append(int(entry))
    return children


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_a_killed_server_leaves_no_worker_behind(app: ConvexApp) -> None:
    # An action that never yields: only the parent-death signal can stop its worker once
    # the server is gone (its pipe is never read again).
    spinning = app.cli_process("run", "limits:spin", "{}")
    try:
        deadline = time.monotonic() + 30
        workers = worker_pids(app.server.pid)
        while time.monotonic() < deadline and not any(cpu_ticks(p) > 100 for p in workers):
            time.sleep(0.2)
            workers = worker_pids(app.server.pid)
        assert any(cpu_ticks(p) > 100 for p in workers), "the action did not start spinning"
        app.server.kill()  # SIGKILL
    finally:
        spinning.kill()
        spinning.wait()
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
