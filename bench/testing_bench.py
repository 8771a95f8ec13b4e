"""Benchmark: time per test of the example app's tests on `bayou.testing`, against the same
tests run against a real `bayou serve` (issue 19).

The tests are examples/py-app/tests/test_users.py and test_messages.py (the ones that need
no fake clock), run by pytest in a subprocess, three ways:

  harness       as users run them: the `convex` fixture of `bayou.testing` (a fresh
                in-memory backend per test, the worker processes shared by the session)
  server        the same test functions with `convex` replaced by a client of one running
                `bayou serve` (HTTP API, admin key), the example app deployed once, its
                tables emptied before each test by a helper mutation (bench_reset.py)
  server-fresh  the same, but a new `bayou serve` and `bayou deploy` per test: the
                isolation the harness gives, the way a real server can give it

Per test: setup + call + teardown, from pytest's reports; the first test's setup (the
session's worker start) is reported apart.

    python bench/testing_bench.py
    python bench/testing_bench.py --fresh-tests 3      # fewer fresh servers (slow)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_transfer import BAYOU, admin_key, free_port, running

ROOT = Path(__file__).resolve().parent.parent
PY_APP = ROOT / "examples" / "py-app"
TEST_FILES = ("tests/test_users.py", "tests/test_messages.py")

RESET_MODULE = '''\
"""Benchmark helpers: empty every table; insert any document (seeding)."""
from typing import Any
from bayou import MutationCtx, internal_mutation, v

@internal_mutation(args={})
def wipe(ctx: MutationCtx) -> None:
    for table in ("users", "channels", "messages", "heartbeats", "files"):
        for doc in ctx.db.query(table).collect():
            ctx.db.delete(doc["_id"])

@internal_mutation(args={"table": v.string(), "doc": v.any()})
def insert(ctx: MutationCtx, table: str, doc: Any) -> str:
    return ctx.db.insert(table, doc)
'''

# A pytest plugin: `convex` is a client of the server named by BENCH_URL / BENCH_KEY, or
# (BENCH_FRESH=1) of a new server started for the test.
SERVER_PLUGIN = """\
import os, subprocess, sys, tempfile, time
from pathlib import Path
import httpx, pytest
from bayou.errors import ConvexError
from bayou.runtimes.python.api.references import function_name
from bayou.testing import FunctionError
from bayou.values import json as vjson, to_value

BENCH = Path(os.environ["BENCH_DIR"])
sys.path.insert(0, str(BENCH))
from http_transfer import BAYOU, admin_key, free_port, running


class ServerConvex:
    def __init__(self, url, key, client=False):
        self.url, self.key, self.client, self.lines = url, key, client, []
        self.http = httpx.Client(base_url=url, timeout=60)

    def as_client(self):
        return ServerConvex(self.url, self.key, True)

    def _call(self, kind, fn, args=None):
        path = function_name(fn, kind)
        headers = {} if self.client else {"Authorization": f"Convex {self.key}"}
        body = {"path": path, "args": vjson.to_json(to_value(dict(args or {}))), "format": "json"}
        answer = self.http.post(f"/api/{kind}", json=body, headers=headers).json()
        self.lines += answer.get("logLines") or []
        if answer["status"] == "success":
            return vjson.from_json(answer["value"])
        message = answer["errorMessage"].split("Server Error\\n", 1)[-1]
        if "errorData" in answer:
            raise ConvexError(vjson.from_json(answer["errorData"]), message=message)
        raise FunctionError(path, message)

    def query(self, fn, args=None): return self._call("query", fn, args)
    def mutation(self, fn, args=None): return self._call("mutation", fn, args)
    def action(self, fn, args=None): return self._call("action", fn, args)

    def seed(self, tables):
        return {t: [self.mutation("bench_reset:insert", {"table": t, "doc": d}) for d in docs]
                for t, docs in tables.items()}

    def table(self, name):
        out, cursor = [], None
        while True:
            page = self.query("_system/cli/tableData", {
                "table": name, "order": "asc",
                "paginationOpts": {"numItems": 1000, "cursor": cursor}})
            out += page["page"]
            if page["isDone"]:
                return out
            cursor = page["continueCursor"]

    def get(self, id):
        for table in ("users", "channels", "messages"):
            for doc in self.table(table):
                if doc["_id"] == id:
                    return doc
        return None

    def log_messages(self, level=None):
        out = []
        for line in self.lines:
            head, _, text = line.partition("] ")
            if level is None or head.lstrip("[") == level:
                out.append(text)
        return out


@pytest.fixture
def convex(tmp_path):
    if os.environ.get("BENCH_FRESH") != "1":
        test = ServerConvex(os.environ["BENCH_URL"], os.environ["BENCH_KEY"])
        test.mutation("bench_reset:wipe")
        yield test
        return
    data, port, site = tmp_path / "data", free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [*BAYOU, "serve", "--data-dir", str(data), "--port", str(port),
            "--site-port", str(site)]
    with running(argv, url, "bayou serve", tmp_path / "serve.log"):
        key = admin_key(data)
        env = {**os.environ, "CONVEX_SELF_HOSTED_URL": url, "CONVEX_SELF_HOSTED_ADMIN_KEY": key}
        subprocess.run([*BAYOU, "deploy"], cwd=os.environ["BENCH_APP"], env=env,
                       check=True, capture_output=True)
        yield ServerConvex(url, key)
"""

# Records setup + call + teardown of each test as JSON lines in BENCH_TIMES.
TIMING_PLUGIN = """\
import json, os
from collections import defaultdict
_times = defaultdict(float)
def pytest_runtest_logreport(report):
    _times[report.nodeid] += report.duration
    if report.when == "teardown":
        with open(os.environ["BENCH_TIMES"], "a") as out:
            out.write(json.dumps({"test": report.nodeid, "s": _times[report.nodeid],
                                  "failed": report.failed}) + "\\n")
"""


def run_tests(work: Path, env: dict[str, str], plugins: list[str], select: list[str]) -> list[dict]:
    times = work / "times.jsonl"
    times.unlink(missing_ok=True)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    for plugin in plugins:
        args += ["-p", plugin]
    result = subprocess.run(
        [*args, *select],
        cwd=work / "py-app",
        env={**os.environ, **env, "BENCH_TIMES": str(times), "PYTHONPATH": str(work)},
        capture_output=True,
        text=True,
    )
    rows = [json.loads(line) for line in times.read_text().splitlines()] if times.exists() else []
    if result.returncode != 0 or any(r["failed"] for r in rows):
        raise SystemExit(f"tests failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return rows


def summary(name: str, rows: list[dict], skip_first: bool) -> float:
    times = [r["s"] for r in rows]
    first = times[0]
    rest = times[1:] if skip_first and len(times) > 1 else times
    mean = statistics.mean(rest)
    line = (
        f"{name:13} {len(times):3} tests  mean {mean * 1000:8.1f} ms/test  "
        f"median {statistics.median(rest) * 1000:8.1f} ms  max {max(rest) * 1000:8.1f} ms"
    )
    if skip_first:
        line += f"  (first test incl. session start: {first * 1000:.0f} ms)"
    print(line)
    return mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fresh-tests", type=int, default=5, help="tests run on fresh servers")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bayou-testing-bench-") as tmp:
        work = Path(tmp)
        app = work / "py-app"
        shutil.copytree(PY_APP, app, ignore=shutil.ignore_patterns("__pycache__"))
        (app / "convex" / "bench_reset.py").write_text(RESET_MODULE)
        (work / "bench_server_plugin.py").write_text(textwrap.dedent(SERVER_PLUGIN))
        (work / "bench_timing.py").write_text(TIMING_PLUGIN)
        select = list(TEST_FILES)

        harness = run_tests(work, {}, ["bench_timing"], select)
        harness_mean = summary("harness", harness, skip_first=True)

        data, port, site = work / "data", free_port(), free_port()
        url = f"http://127.0.0.1:{port}"
        argv = [*BAYOU, "serve", "--data-dir", str(data), "--port", str(port)]
        argv += ["--site-port", str(site)]
        with running(argv, url, "bayou serve", work / "serve.log"):
            key = admin_key(data)
            env = {**os.environ, "CONVEX_SELF_HOSTED_URL": url, "CONVEX_SELF_HOSTED_ADMIN_KEY": key}
            subprocess.run([*BAYOU, "deploy"], cwd=app, env=env, check=True, capture_output=True)
            server_env = {"BENCH_URL": url, "BENCH_KEY": key, "BENCH_DIR": str(ROOT / "bench")}
            plugins = ["no:bayou", "bench_server_plugin", "bench_timing"]
            server = run_tests(work, server_env, plugins, select)
        server_mean = summary("server", server, skip_first=False)

        fresh_env = {"BENCH_FRESH": "1", "BENCH_DIR": str(ROOT / "bench"), "BENCH_APP": str(app)}
        fresh_select = [r["test"] for r in harness[: options.fresh_tests]]
        fresh = run_tests(
            work, fresh_env, ["no:bayou", "bench_server_plugin", "bench_timing"], fresh_select
        )
        fresh_mean = summary("server-fresh", fresh, skip_first=False)

        print(
            f"\nharness vs server (tables emptied per test): {server_mean / harness_mean:.1f}x "
            f"faster; vs a fresh server per test: {fresh_mean / harness_mean:.0f}x faster"
        )


if __name__ == "__main__":
    main()
