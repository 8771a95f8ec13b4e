"""JavaScript function code cannot reach the server's secrets, files or processes.

Two layers, each tested on its own: no known escape leads from a query, mutation or
isolate action to a host object that grants anything (escapes.py), and the worker
processes themselves — whatever code ends up running in them — are confined by the OS:
no server environment, no data directory, no other process, and for queries and
mutations no process or socket of their own. "use node" actions are Node by design; the
OS confinement is what bounds them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bayou.runtimes.confinement import detect, launcher_command
from bayou.runtimes.js import Invocation, JsRuntime, Module
from tests.runtimes.js.escapes import hand_made_module
from tests.runtimes.sandbox_fixtures import SERVER_SECRETS, make_data_dir

VERSION = "confined"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux confinement")

# Real Node code in a worker: what the OS lets it do. `paths` come as the first argument.
OS_PROBE = r"""
const fs = require("node:fs");
const net = require("node:net");
const child = require("node:child_process");
async function probe(paths) {
  const out = {};
  const attempt = (name, fn) => {
    try {
      const value = fn();
      out[name] = "ALLOWED " + String(value).slice(0, 60);
    } catch (e) {
      out[name] = "DENIED " + (e.code || e.message);
    }
  };
  for (const name of ["INSTANCE_SECRET", "POSTGRES_URL", "AWS_SECRET_ACCESS_KEY"]) {
    out["env " + name] = name in process.env ? "ALLOWED" : "DENIED absent";
  }
  attempt("read credentials", () => fs.readFileSync(paths.credentials, "utf8"));
  attempt("read database", () => fs.readFileSync(paths.database).length);
  attempt("list data directory", () => fs.readdirSync(paths.data_dir));
  attempt("read server environ", () => fs.readFileSync(`/proc/${process.ppid}/environ`).length);
  attempt("signal the server", () => process.kill(process.ppid, 0));
  attempt("write a file", () => fs.writeFileSync(paths.scratch, "x"));
  attempt("run a process", () => child.execFileSync("/bin/sh", ["-c", "id"]).toString());
  out["open a socket"] = await new Promise((resolve) => {
    try {
      const socket = net.connect(paths.port, "127.0.0.1");
      socket.on("connect", () => { socket.destroy(); resolve("ALLOWED connected"); });
      socket.on("error", (e) => resolve("DENIED " + e.code));
    } catch (e) {
      resolve("DENIED " + (e.code || e.message));
    }
  });
  return out;
}
"""
NODE_MODULE = (
    OS_PROBE
    + """
export const probeAction = {
  isAction: true,
  isPublic: true,
  invokeAction: async (requestId, args) => JSON.stringify(await probe(JSON.parse(args)[0])),
};
"""
)
SCRIPT = (
    OS_PROBE + "\nprobe(JSON.parse(process.argv[1])).then((o) => console.log(JSON.stringify(o)));"
)


class NoSyscalls:
    async def async_syscall(self, op: str, args: Any) -> Any:
        return None


@pytest.fixture
def targets(tmp_path: Path) -> dict[str, Any]:
    paths: dict[str, Any] = make_data_dir(tmp_path)
    paths["scratch"] = str(tmp_path / "written-by-a-function")
    return paths


@pytest.fixture
async def runtime(
    node: str, targets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[JsRuntime]:
    for name, value in SERVER_SECRETS.items():
        monkeypatch.setenv(name, value)  # as `bayou serve` may have them
    rt = JsRuntime(node=node, workers=1, action_workers=1, private_dirs=[targets["data_dir"]])
    await rt.start()
    await rt.load(
        VERSION,
        [
            Module("escapes.js", hand_made_module()),
            Module("probe.js", NODE_MODULE, environment="node"),
        ],
    )
    try:
        yield rt
    finally:
        await rt.close()


def escaped(outcomes: dict[str, str]) -> dict[str, str]:
    return {name: what for name, what in outcomes.items() if what.startswith("ESCAPED")}


@pytest.mark.parametrize("kind", ["query", "mutation", "action"])
async def test_no_known_escape_leads_from_a_function_to_the_host(
    runtime: JsRuntime, kind: str
) -> None:
    result = await runtime.invoke(
        Invocation(version=VERSION, udf_type=kind, path=f"escapes.js:{kind}", args_json="[{}]"),
        NoSyscalls(),
    )
    assert result.ok, result.error_message
    outcomes = json.loads(result.value_json or "{}")
    assert len(outcomes) > 80  # every global, host value, import, trap and prototype
    assert escaped(outcomes) == {}


def probe_with(policy_role: str, runtime: JsRuntime, targets: dict[str, Any], port: int) -> dict:
    """Run the probe as a worker of `policy_role` is run: the same launcher and policy."""
    policy = runtime.policy(policy_role)
    assert policy is not None
    argv = [runtime.node, "-e", SCRIPT, json.dumps({**targets, "port": port})]
    out = subprocess.run(
        launcher_command(policy, argv),
        env={"TZ": "UTC"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@linux_only
async def test_a_query_worker_can_reach_nothing_of_the_server_nor_the_network(
    runtime: JsRuntime, targets: dict[str, Any], listener: int
) -> None:
    outcomes = probe_with("udf", runtime, targets, listener)
    allowed = {name: what for name, what in outcomes.items() if not what.startswith("DENIED")}
    assert allowed == {}


@linux_only
async def test_a_use_node_action_reaches_the_network_but_nothing_of_the_server(
    runtime: JsRuntime, targets: dict[str, Any], listener: int
) -> None:
    result = await runtime.invoke(
        Invocation(
            version=VERSION,
            udf_type="action",
            path="probe.js:probeAction",
            args_json=json.dumps([{**targets, "port": listener}]),
        ),
        NoSyscalls(),
    )
    assert result.ok, result.error_message
    outcomes = json.loads(result.value_json or "{}")
    # Node as Node is, as on Convex: its network and processes …
    assert outcomes.pop("open a socket") == "ALLOWED connected"
    assert outcomes.pop("run a process").startswith("ALLOWED")
    # … in a process that holds none of the server's secrets and reads none of its files.
    allowed = {name: what for name, what in outcomes.items() if not what.startswith("DENIED")}
    assert allowed == {}


@linux_only
async def test_workers_run_as_an_unprivileged_user_when_the_server_is_root(
    runtime: JsRuntime,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("the server is not root")
    assert runtime.confiner is not None
    if runtime.confiner.uid is None:
        pytest.skip(f"Node is not readable by uid 65534: {runtime.confiner.user_problem}")
    for role, pids in runtime.worker_pids().items():
        for pid in pids:
            assert os.stat(f"/proc/{pid}").st_uid == 65534, role


@linux_only
def test_ci_machines_have_every_mechanism() -> None:
    """Where the suite runs in CI (Linux 6.7+), nothing may be missing unnoticed."""
    if not os.environ.get("CI"):
        pytest.skip("only CI's machine is known to have them all")
    assert detect().problems() == []


@pytest.fixture
def listener() -> Any:
    """A TCP port on loopback that accepts connections (what a function tries to reach)."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


async def test_a_confined_worker_serves_many_calls_without_a_hitch(
    runtime: JsRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    """Every 64 calls a worker looks at its own memory: confined, it still may."""
    before = runtime.worker_pids()["udf"]
    for _ in range(130):
        result = await runtime.invoke(
            Invocation(version=VERSION, udf_type="query", path="escapes.js:fine", args_json="[{}]"),
            NoSyscalls(),
        )
        assert result.ok, result.error_message
    assert runtime.worker_pids()["udf"] == before
    assert not [r for r in caplog.records if "JS worker" in r.getMessage()]
