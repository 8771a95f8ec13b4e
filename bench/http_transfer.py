"""Benchmark: the transfer mutation through Bayou's HTTP function API, against raw SQLite
behind the same HTTP server, in one run (issues 3 and 5).

The workload: `bank:transfer` reads two accounts and writes both balances, sent as
`POST /api/mutation` by `wrk` with --connections concurrent connections (keep-alive), each
request naming two distinct random accounts of --accounts:
  uniform   accounts drawn uniformly (uncontended)
  zipf      accounts drawn with P(rank k) ~ 1/k^alpha, alpha --alpha (1.5: the hottest
            account is in ~40% of the transfers — heavy contention)

Targets, one server at a time on this machine:
  raw       bench/raw_sqlite_server.py: the same reads and writes as plain SQLite statements
            at the same durability (WAL, synchronous=FULL), behind starlette + uvicorn with
            the settings `bayou serve` uses (httptools, uvloop)
  bayou-js  `bayou serve` with bench/apps/bank (TypeScript) deployed by `npx convex deploy`
  bayou-py  `bayou serve` with bench/apps/bank-py (Python) deployed by `bayou deploy`
  bayou-js-counter  bench/apps/bank-counter: the TypeScript transfer that also counts
            every transfer with the npm component @convex-dev/sharded-counter (issue 14);
            its ratio to bayou-js is the cost of the component call

Each measurement follows a warm-up and reports, beside transactions per second, the CPU
the server process and its function workers used per transfer (from /proc: it moves far
less with the machine's load than throughput does); after each target the total balance is checked (a
transfer moves money, it never creates or loses any). Printed: transactions per second,
mean latency, bad responses, and the ratio Bayou / raw for each distribution.

    python bench/http_transfer.py                     # 10 s a measurement
    python bench/http_transfer.py --duration 30 --targets raw bayou-py

Needs `wrk` (installed with apt-get when missing), Node and npm for the JS target (the
official `convex` package is installed in tests/js on first use).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
JS_DIR = ROOT / "tests" / "js"
LUA = BENCH / "wrk" / "transfer.lua"
BAYOU = [sys.executable, "-c", "from bayou.cli.main import app; app()"]
TARGETS = ("raw", "bayou-js", "bayou-py", "bayou-js-counter")
APPS = {"bayou-js": "bank", "bayou-py": "bank-py", "bayou-js-counter": "bank-counter"}
SEED_BATCH = 500
SERVER_CPUS: str | None = None  # --server-cpus
BALANCE = 1000.0


@dataclass
class Result:
    target: str
    distribution: str
    tps: float
    latency: str
    requests: int
    bad: int
    server_cpu_ms: float | None = None  # CPU of the server process per transfer
    worker_cpu_ms: float | None = None  # …and of its children (function workers)


def process_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by process `pid` and by its living descendants. CPU per
    transfer moves far less with the machine's load than transfers per second do."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        used[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    children, stack = 0.0, [p for p, parent in parents.items() if parent == pid]
    while stack:
        child = stack.pop()
        children += used.get(child, 0.0)
        stack += [p for p, parent in parents.items() if parent == child]
    return used.get(pid, 0.0), children


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, path: str, body: dict, key: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Convex {key}"
    request = urllib.request.Request(url + path, orjson.dumps(body), headers, method="POST")
    with urllib.request.urlopen(request, timeout=120) as response:
        answer: dict = orjson.loads(response.read())
    return answer


def wait_ready(url: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/version", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} was not ready in 60 s")


@contextlib.contextmanager
def running(argv: list[str], url: str, what: str, log: Path) -> Iterator[subprocess.Popen]:
    with open(log, "ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(url, process, what)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_checked(argv: list[str], **options: object) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, **options)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (apt-get)...", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it")
    return found


def ensure_npm_packages() -> Path:
    if not (JS_DIR / "node_modules" / "convex" / "package.json").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True)
    return JS_DIR / "node_modules"


def run_wrk(
    wrk: str, url: str, ids: Path, distribution: str, args: argparse.Namespace, seconds: float
) -> tuple[float, str, int, int]:
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        url,
        "--",
        str(ids),
        distribution,
        str(args.alpha),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    tps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = re.search(r"Latency\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = int(re.search(r"BAD_RESPONSES (\d+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if errors:
        print(f"  wrk socket errors: {errors.group(1)}", file=sys.stderr)
    if non2xx:
        print(f"  non-2xx responses: {non2xx.group(1)}", file=sys.stderr)
    return tps, latency, requests, bad


def cpu_per_transfer(
    pid: int, before: tuple[float, float], transfers: int
) -> tuple[float, float, str]:
    """(server ms, workers ms, a printable phrase) of CPU per transfer since `before`."""
    after = process_cpu(pid)
    server = 1000 * (after[0] - before[0]) / transfers
    workers = 1000 * max(0.0, after[1] - before[1]) / transfers
    return server, workers, f"  CPU/transfer {server:.2f} ms server + {workers:.2f} ms workers"


def measure(
    target: str, url: str, ids: Path, wrk: str, args: argparse.Namespace, pid: int | None = None
) -> list[Result]:
    results = []
    for distribution in ("uniform", "zipf"):
        run_wrk(wrk, url, ids, distribution, args, args.warmup)
        before = process_cpu(pid) if pid else None
        tps, latency, requests, bad = run_wrk(wrk, url, ids, distribution, args, args.duration)
        result = Result(target, distribution, tps, latency, requests, bad)
        cpu = ""
        if before is not None and pid and requests:
            result.server_cpu_ms, result.worker_cpu_ms, cpu = cpu_per_transfer(
                pid, before, requests
            )
        print(
            f"  {target:9} {distribution:8} {tps:9.0f} tx/s  mean latency {latency:>8}  "
            f"bad responses {bad}{cpu}",
            file=sys.stderr,
        )
        results.append(result)
    return results


def check_total(url: str, path: str, accounts: int) -> None:
    answer = post(url, "/api/query", {"path": path, "args": {}, "format": "json"})
    total = answer.get("value")
    if total != accounts * BALANCE:
        raise SystemExit(f"money was created or lost: total {total} != {accounts * BALANCE}")


def seed_bayou(url: str, accounts: int, ids: Path) -> None:
    out: list[str] = []
    for first in range(0, accounts, SEED_BATCH):
        count = min(SEED_BATCH, accounts - first)
        answer = post(
            url,
            "/api/mutation",
            {"path": "bank:seed", "args": {"first": first, "count": count}, "format": "json"},
        )
        if answer.get("status") != "success":
            raise SystemExit(f"seeding failed: {answer}")
        out += answer["value"]
    ids.write_text("\n".join(out) + "\n")


def bench_raw(work: Path, wrk: str, args: argparse.Namespace) -> list[Result]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ids = work / "raw-ids.txt"
    argv = [
        sys.executable,
        str(BENCH / "raw_sqlite_server.py"),
        "--db",
        str(work / "raw.sqlite3"),
        "--port",
        str(port),
        "--accounts",
        str(args.accounts),
        "--ids-out",
        str(ids),
    ]
    if SERVER_CPUS:
        argv = ["taskset", "-c", SERVER_CPUS, *argv]
    with running(argv, url, "the raw SQLite server", work / "raw.log") as process:
        results = measure("raw", url, ids, wrk, args, process.pid)
        check_total(url, "total", args.accounts)
    return results


def bench_bayou(target: str, work: Path, wrk: str, args: argparse.Namespace) -> list[Result]:
    app = BENCH / "apps" / APPS[target]
    with serving(app, work, target) as deployment:
        ids = work / f"{target}-ids.txt"
        seed_bayou(deployment.url, args.accounts, ids)
        results = measure(target, deployment.url, ids, wrk, args, deployment.pid)
        check_total(deployment.url, "bank:total", args.accounts)
        if target == "bayou-js-counter":
            # Every committed transfer (warm-ups included) was counted in the component.
            counted = post(deployment.url, "/api/query", {"path": "bank:transfers", "args": {}})
            print(f"  the component counted {counted.get('value')} transfers", file=sys.stderr)
    return results


def admin_key(data: Path) -> str:
    """An admin key for the `bayou serve` whose data directory is `data`."""
    return subprocess.run(
        [*BAYOU, "admin-key", "--data-dir", str(data)], capture_output=True, text=True, check=True
    ).stdout.split()[-1]


def deploy_app(source: Path, work: Path, url: str, key: str) -> None:
    """Deploy the app at `source`: with the official CLI when it has a package.json (a
    working copy in `work` with the npm packages linked in), else its Python functions
    with `bayou deploy`."""
    env = {**os.environ, "CONVEX_SELF_HOSTED_URL": url, "CONVEX_SELF_HOSTED_ADMIN_KEY": key}
    if not (source / "package.json").exists():
        run_checked([*BAYOU, "deploy", "--functions", str(source / "convex")], env=env)
        return
    app = work / source.name
    shutil.copytree(source, app)
    (app / "node_modules").symlink_to(ensure_npm_packages())
    # the official CLI wants `convex` among the project's dependencies
    package = orjson.loads((app / "package.json").read_bytes())
    package.setdefault("dependencies", {}).setdefault("convex", "*")
    (app / "package.json").write_bytes(orjson.dumps(package))
    cli = JS_DIR / "node_modules" / "convex" / "bin" / "main.js"
    run_checked(
        ["node", str(cli), "deploy", "--typecheck", "disable", "-y"],
        cwd=app,
        env={**env, "CI": "1", "CONVEX_DEPLOYMENT": ""},
    )


@dataclass(frozen=True)
class Deployment:
    url: str  # the API port
    site_url: str  # the HTTP-action port
    admin_key: str
    pid: int = 0  # the server process


@contextlib.contextmanager
def serving(app: Path, work: Path, name: str) -> Iterator[Deployment]:
    """A fresh `bayou serve` (data in `work/name`, log beside it) with `app` deployed."""
    data = work / name
    port, site_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [*BAYOU, "serve", "--data-dir", str(data), "--port", str(port)]
    argv += ["--site-port", str(site_port)]
    if SERVER_CPUS:
        argv = ["taskset", "-c", SERVER_CPUS, *argv]
    with running(argv, url, f"bayou serve ({name})", work / f"{name}.log") as process:
        key = admin_key(data)
        deploy_app(app, work, url, key)
        yield Deployment(url, f"http://127.0.0.1:{site_port}", key, process.pid)


def report(results: list[Result], args: argparse.Namespace) -> None:
    raw = {r.distribution: r.tps for r in results if r.target == "raw"}
    print(
        f"\nHTTP transfer: {args.connections} connections, {args.accounts} accounts, "
        f"{args.duration:g} s a measurement, zipf alpha {args.alpha}"
    )
    print(
        f"{'target':10} {'distribution':13} {'tx/s':>9} {'latency':>9} {'bad':>5} {'vs raw':>7}"
        f" {'CPU ms/tx':>15}"
    )
    for r in results:
        ratio = f"{r.tps / raw[r.distribution]:.2f}" if r.distribution in raw else "-"
        cpu = (
            f"{r.server_cpu_ms:.2f} + {r.worker_cpu_ms:.2f}"
            if r.server_cpu_ms is not None and r.worker_cpu_ms is not None
            else "-"
        )
        print(
            f"{r.target:10} {r.distribution:13} {r.tps:9.0f} {r.latency:>9} {r.bad:5d} {ratio:>7}"
            f" {cpu:>15}"
        )
    plain = {r.distribution: r.tps for r in results if r.target == "bayou-js"}
    for r in results:
        if r.target == "bayou-js-counter" and plain.get(r.distribution):
            print(
                f"sharded-counter component, {r.distribution}: "
                f"{r.tps / plain[r.distribution]:.2f} of the same transfer without it"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds a measurement")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--alpha", type=float, default=1.5)
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument(
        "--server-cpus",
        help="pin the server and its workers to these CPUs (taskset list, e.g. 0 or 0,1) to "
        "see how it scales with cores; wrk stays free to use any",
    )
    args = parser.parse_args()
    global SERVER_CPUS
    SERVER_CPUS = args.server_cpus
    wrk = ensure_wrk()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bayou-http-bench-") as tmp:
        work = Path(tmp)
        for target in args.targets:
            print(f"{target}:", file=sys.stderr)
            if target == "raw":
                results += bench_raw(work, wrk, args)
            else:
                results += bench_bayou(target, work, wrk, args)
    report(results, args)


if __name__ == "__main__":
    main()
