"""Benchmark: SpacetimeDB's public keynote-2 bank-transfer benchmark, reproduced against
Bayou and against the harness's own baseline servers, in one run (issue 15).

The workload is the harness's (templates/keynote-2 of clockworklabs/SpacetimeDB, Apache
2.0; the ported files say what changed): --accounts accounts (100,000) of 1,000,000,000
each; --clients closed-loop clients (50, issue 15's figure; the harness's CLI defaults to
64, the client count of its published tables), each sending one transfer of 1 at a time and
awaiting it; the pairs precomputed from the harness's seeded PRNG (mulberry32, seed
0x12345678) with its Zipf sampler, α = 0 (uniform) and α = 1.5 (a few hot accounts take
most transfers); TPS = transfers that succeeded inside the window / seconds; p50/p99 of
their latency. The load generator is the harness's runner itself, ported to plain
JavaScript (bench/keynote/runner.mjs) and run by Node: the same requests, the same
per-request timeout race, the same pair sequence to the bit (checked against the
TypeScript original). Why Node rather than Python: it is the harness's own code, its
float arithmetic and its HTTP stack, and it is cheap: with node:http it costs ~100 µs of
CPU a request (--client http, the default); the harness's fetch (--client fetch) costs
~300 µs here, which on 2 cores shared with the server would take CPU from the server it
measures (the ratios would flatter the slower targets). The `null` target measures the
ceiling: 4,400-6,500 transfers/s at half a core with node:http in a smoke run on this
shared 2-core machine (load average ~6).

Targets, one at a time on this machine (--targets):
  null               a server that answers at once (bench/keynote/null-server.mjs): the
                     load generator's ceiling here; no ratio
  node-sqlite        the harness's Node + SQLite RPC server (drizzle-orm; WAL, its default
                     mode's `synchronous = MEMORY`, which SQLite reads as NORMAL), on
                     node:sqlite instead of better-sqlite3 (bench/keynote/better-sqlite3-
                     on-node-sqlite says why); the ratios' reference
  node-sqlite-full   the same with synchronous=FULL (added by --sync-full): the reference
                     at equal durability, since Bayou's SQLite syncs each commit
  bayou-js           `bayou serve` (SQLite) with the harness's convex-app functions,
                     unchanged (bench/apps/keynote-convex), deployed by `npx convex deploy`
  bayou-py           `bayou serve` (SQLite) with the same transfer in Python
                     (bench/apps/keynote-py), deployed by `bayou deploy`
  node-postgres      the harness's Node + PostgreSQL RPC server (pg + drizzle-orm,
                     SERIALIZABLE, its retry), on a database of its own
  bayou-js-postgres  bayou-js with POSTGRES_URL
  bayou-py-postgres  bayou-py with POSTGRES_URL

Each target is seeded as the harness seeds it (`prep`: one SQL statement for the RPC
servers; `seed:seed_range` mutations of 7,000 accounts, 0.5 s apart, for Convex), then
measured at each α (--alphas) after a --warmup window, then verified: the total money is
what was seeded and some balances changed (the RPC servers' own `verify`; for Bayou the
accounts table read with the admin key through `_system/cli/tableData`, the query
`npx convex data` pages with — the harness's verify would need 100,000 queries). The load
average is printed at the start, before each target and at the end.

    .venv/bin/python bench/keynote.py                          # 30 s a measurement
    .venv/bin/python bench/keynote.py --sync-full --seconds 60 --json out.json
    .venv/bin/python bench/keynote.py --targets null node-sqlite bayou-py --seconds 5
    .venv/bin/python bench/keynote.py --targets bayou-js --server-cpus 0   # on one core

Needs Node >= 22 (found like the tests find it), npm for bench/keynote's packages (`npm ci`
on first use) and the official CLI in tests/js, and for the PostgreSQL targets a server at
--postgres-url (trust auth on loopback; the databases it creates are dropped at the end).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import http_transfer
import orjson
from http_transfer import BENCH, ROOT, cpu_per_transfer, free_port, post, process_cpu, serving

KEYNOTE = BENCH / "keynote"
APPS = BENCH / "apps"
TARGETS = (
    "null",
    "node-sqlite",
    "node-sqlite-full",
    "bayou-js",
    "bayou-py",
    "node-postgres",
    "bayou-js-postgres",
    "bayou-py-postgres",
)
DEFAULT_TARGETS = [t for t in TARGETS if t != "node-sqlite-full"]
REFERENCE = "node-sqlite"
INITIAL_BALANCE = 1_000_000_000  # the harness's SEED_INITIAL_BALANCE
CONVEX_SEED_CHUNK = 7_000  # the harness's init_convex.ts CHUNK ("Max ~16k writes per function")
CONVEX_SEED_PAUSE = 0.5  # and its pause between chunks
STARTUP_TIMEOUT = 60.0
SEED_TIMEOUT = 600.0


@dataclass
class Result:
    target: str
    alpha: float
    tps: float
    p50_ms: float
    p99_ms: float
    failed: int
    samples: int
    errors: dict[str, int] = field(default_factory=dict)
    collision_rate: float = 0.0
    client_cpu: float = 0.0  # the load generator's CPU time / the window (1.0 = one core)
    series: list[int] = field(default_factory=list)
    # CPU per transfer (warm-up and window) of Bayou's server process and of its workers:
    # it moves far less with the machine's load than transfers per second do.
    server_cpu_ms: float | None = None
    worker_cpu_ms: float | None = None


@dataclass
class Check:
    target: str
    accounts: int
    total: float
    changed: int
    ok: bool
    note: str = ""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# -- Node and the bench's npm packages ----------------------------------------------------


def use_recent_node() -> None:
    """Put a Node >= 22 first on PATH (the system's when recent enough, else the one the
    `node` extra installs), as the tests do, for the runner, the servers and the CLI."""
    from bayou.runtimes.js.node import find_node, node_tools_dir

    tools = node_tools_dir(find_node(), Path(sys.prefix) / "node-tools")
    os.environ["PATH"] = f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"


def ensure_keynote_packages() -> None:
    """`npm ci` in bench/keynote (the harness's versions of drizzle-orm, pg and
    hdr-histogram-js, pinned by its committed lockfile) when they are missing."""
    installed = KEYNOTE / "node_modules" / ".package-lock.json"
    lock = KEYNOTE / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    log("installing bench/keynote's npm packages (npm ci)...")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=KEYNOTE,
        check=True,
        timeout=600,
        stdout=sys.stderr,  # stdout is the report's
    )


# -- processes ----------------------------------------------------------------------------


def rpc(url: str, name: str, args: dict | None = None, timeout: float = 120) -> dict:
    body = orjson.dumps({"name": name, "args": args or {}})
    request = urllib.request.Request(
        url + "/rpc", body, {"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict = orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        answer = orjson.loads(exc.read() or b"{}")
    if not answer.get("ok"):
        raise RuntimeError(f"RPC {name} failed: {answer.get('error')}")
    return answer


@contextlib.contextmanager
def node_server(script: str, env: dict[str, str], url: str, log_file: Path) -> Iterator[None]:
    """Run `node bench/keynote/<script>` until the block ends; ready when it answers."""
    with open(log_file, "ab") as out:
        process = subprocess.Popen(
            ["node", str(KEYNOTE / script)],
            cwd=KEYNOTE,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{script} exited with {process.returncode}; see {log_file}")
            try:
                with urllib.request.urlopen(url + "/", timeout=2):
                    break
            except urllib.error.HTTPError:
                break  # it answers (404 on / for the null server)
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{script} was not ready in {STARTUP_TIMEOUT:g} s") from None
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def node_step(script: str, env: dict[str, str], timeout: float = SEED_TIMEOUT) -> None:
    done = subprocess.run(
        ["node", str(KEYNOTE / script)],
        cwd=KEYNOTE,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise SystemExit(f"{script} failed:\n{done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the processes started inside the block (`serving()`
    starts `bayou serve`, `bayou admin-key` and the CLI with this process's environment)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- PostgreSQL ---------------------------------------------------------------------------


def pg_admin(base_url: str, statements: list[str]) -> None:
    import psycopg

    with psycopg.connect(base_url + "/postgres", autocommit=True, connect_timeout=10) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


@contextlib.contextmanager
def pg_database(base_url: str, name: str, *, create: bool, serializable: bool) -> Iterator[str]:
    """A database of the benchmark's own (created here, or by Bayou when `create` is
    False), dropped at the end."""
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    statements = [drop]
    if create:
        statements.append(f'CREATE DATABASE "{name}"')
    if serializable:
        # the harness's PostgreSQL runs with -c default_transaction_isolation=serializable
        statements.append(
            f"ALTER DATABASE \"{name}\" SET default_transaction_isolation = 'serializable'"
        )
    pg_admin(base_url, statements)
    try:
        yield f"{base_url}/{name}"
    finally:
        with contextlib.suppress(Exception):
            pg_admin(base_url, [drop])


# -- the load generator -------------------------------------------------------------------


def run_load(
    kind: str, name: str, url: str, alpha: float, args: argparse.Namespace, pid: int | None = None
) -> Result:
    config = {
        "kind": kind,
        "name": name,
        "url": url,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "concurrency": args.clients,
        "accounts": args.accounts,
        "alpha": alpha,
        "precomputedTransferPairs": args.pairs,
        "client": args.client,
    }
    budget = args.warmup + args.seconds + 2 * 15 + 120  # op timeouts, precompute, start
    before = process_cpu(pid) if pid else None
    try:
        done = subprocess.run(
            ["node", str(KEYNOTE / "runner.mjs"), json.dumps(config)],
            cwd=KEYNOTE,
            capture_output=True,
            text=True,
            timeout=budget,
        )
    except subprocess.TimeoutExpired:
        raise SystemExit(f"the load generator did not finish in {budget:g} s") from None
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"the load generator failed:\n{done.stdout}\n{done.stderr}")
    out = json.loads(line.removeprefix("RESULT "))
    result = Result(
        target=name,
        alpha=alpha,
        tps=out["tps"],
        p50_ms=out["p50_ms"],
        p99_ms=out["p99_ms"],
        failed=out["failed"],
        samples=out["samples"],
        errors=out["errors"],
        collision_rate=out["collision_rate"],
        client_cpu=out["cpu_s"] / max(out["elapsed_s"], 1e-9),
        series=out["series"],
    )
    warm = out.get("warmup") or {}
    transfers = out["completed_total"] + warm.get("completed", 0)
    cpu = ""
    if before is not None and pid and transfers:
        result.server_cpu_ms, result.worker_cpu_ms, cpu = cpu_per_transfer(pid, before, transfers)
    log(
        f"  {name:18} α={alpha:<4g} {result.tps:8.0f} tx/s  p50 {result.p50_ms:7.1f} ms  "
        f"p99 {result.p99_ms:7.1f} ms  failed {result.failed} "
        f"(+{out['failed_total'] - result.failed} after the window)  "
        f"load generator {result.client_cpu:.0%} of a core"
        + (f"  (warm-up {warm.get('tps', 0):.0f} tx/s)" if warm else "")
        + cpu
    )
    for message, count in result.errors.items():
        log(f"    {count} x {message}")  # inside the window or after
    return result


def measure(
    kind: str, name: str, url: str, args: argparse.Namespace, pid: int | None = None
) -> list[Result]:
    return [run_load(kind, name, url, alpha, args, pid) for alpha in args.alphas]


# -- targets ------------------------------------------------------------------------------


def bench_null(work: Path, args: argparse.Namespace) -> tuple[list[Result], Check | None]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with node_server("null-server.mjs", {"PORT": str(port)}, url, work / "null.log"):
        return measure("convex", "null", url, args), None


def rpc_check(target: str, url: str, args: argparse.Namespace) -> Check:
    try:
        out = rpc(url, "verify", timeout=300)["result"]
    except RuntimeError as exc:
        return Check(target, 0, 0, 0, False, str(exc))
    accounts, total, changed = int(out["accounts"]), int(out["total"]), int(out["changed"])
    ok = accounts == args.accounts and total == args.accounts * INITIAL_BALANCE and changed > 0
    return Check(target, accounts, total, changed, ok)


def bench_node_sqlite(
    target: str, work: Path, args: argparse.Namespace
) -> tuple[list[Result], Check]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "SQLITE_FILE": str(work / f"{target}.sqlite"),
        "SQLITE_RPC_PORT": str(port),
        "SEED_ACCOUNTS": str(args.accounts),
        "SEED_INITIAL_BALANCE": str(INITIAL_BALANCE),
    }
    if target == "node-sqlite-full":
        env["SQLITE_SYNCHRONOUS"] = "FULL"
    node_step("init_sqlite.mjs", env)  # the harness's prep
    with node_server("sqlite-rpc-server.mjs", env, url, work / f"{target}.log"):
        pragmas = rpc(url, "pragmas")["result"]
        log(
            f"  sqlite mode {pragmas['mode']}: journal_mode={pragmas['journal_mode']} "
            f"synchronous={pragmas['synchronous']}"
        )
        results = measure("rpc", target, url, args)
        return results, rpc_check(target, url, args)


def bench_node_postgres(work: Path, args: argparse.Namespace) -> tuple[list[Result], Check]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    name = f"keynote_node_pg_{os.getpid()}"
    with pg_database(args.postgres_url, name, create=True, serializable=True) as pg_url:
        env = {
            "PG_URL": pg_url,
            "PG_RPC_PORT": str(port),
            "SEED_ACCOUNTS": str(args.accounts),
            "SEED_INITIAL_BALANCE": str(INITIAL_BALANCE),
        }
        node_step("init_pglike.mjs", env)  # the harness's prep
        with node_server("postgres-rpc-server.mjs", env, url, work / "node-postgres.log"):
            isolation = rpc(url, "isolation")["result"]
            log(
                f"  transaction_isolation={isolation['transaction_isolation']} "
                f"pool max {isolation['pool_max']}"
            )
            results = measure("rpc", "node-postgres", url, args)
            attempts = rpc(url, "attempts")["result"]
            log(
                f"  serialization retries {attempts['retries']}, gave up "
                f"{attempts['exhausted']} (warm-ups included)"
            )
            return results, rpc_check("node-postgres", url, args)


def convex_mutation(url: str, path: str, args: dict) -> object:
    """One mutation as the harness's init_convex.ts sends it."""
    request = urllib.request.Request(
        f"{url}/api/mutation?format=json",
        orjson.dumps({"path": path, "args": args}),
        {"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        answer = orjson.loads(exc.read() or b"{}")
    if answer.get("status") != "success":
        message = answer.get("errorMessage") or answer.get("message") or answer
        raise SystemExit(f"convex mutation {path} failed: {message}")
    return answer.get("value")


def seed_convex(url: str, accounts: int) -> None:
    """The harness's init_convex.ts: `seed:seed_range` in chunks of 7,000, 0.5 s apart."""
    for start in range(0, accounts, CONVEX_SEED_CHUNK):
        count = min(CONVEX_SEED_CHUNK, accounts - start)
        convex_mutation(
            url, "seed:seed_range", {"start": start, "count": count, "initial": INITIAL_BALANCE}
        )
        time.sleep(CONVEX_SEED_PAUSE)


def bayou_check(target: str, url: str, key: str, args: argparse.Namespace) -> Check:
    """Every account, read page by page with the admin key through the system query the
    official CLI's `npx convex data` uses (nothing writes any more: the pages agree)."""
    count = changed = 0
    total = 0.0
    cursor: str | None = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        body = {
            "path": "_system/cli/tableData",
            "args": {
                "table": "accounts",
                "order": "asc",
                "paginationOpts": {"numItems": 2000, "cursor": cursor},
            },
            "format": "json",
        }
        answer = post(url, "/api/query", body, key)
        if answer.get("status") != "success":
            return Check(target, count, total, changed, False, str(answer)[:300])
        page = answer["value"]
        for doc in page["page"]:
            count += 1
            total += doc["balance"]
            changed += doc["balance"] != INITIAL_BALANCE
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
    else:
        return Check(target, count, total, changed, False, "reading the accounts timed out")
    ok = count == args.accounts and total == args.accounts * INITIAL_BALANCE and changed > 0
    return Check(target, count, total, changed, ok)


def bench_bayou(target: str, work: Path, args: argparse.Namespace) -> tuple[list[Result], Check]:
    app = APPS / ("keynote-py" if target.startswith("bayou-py") else "keynote-convex")
    postgres = target.endswith("-postgres")
    instance = f"keynote-{target}-{os.getpid()}"
    env = {"INSTANCE_NAME": instance}
    database: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if postgres:
        env |= {"POSTGRES_URL": args.postgres_url, "DO_NOT_REQUIRE_SSL": "true"}
        database = pg_database(
            args.postgres_url, instance.replace("-", "_"), create=False, serializable=False
        )
    with database, environment(env), serving(app, work, target) as deployment:
        started = time.monotonic()
        seed_convex(deployment.url, args.accounts)
        log(f"  seeded {args.accounts} accounts in {time.monotonic() - started:.1f} s")
        results = measure("convex", target, deployment.url, args, deployment.pid)
        return results, bayou_check(target, deployment.url, deployment.admin_key, args)


def bench(target: str, work: Path, args: argparse.Namespace) -> tuple[list[Result], Check | None]:
    if target == "null":
        return bench_null(work, args)
    if target.startswith("node-sqlite"):
        return bench_node_sqlite(target, work, args)
    if target == "node-postgres":
        return bench_node_postgres(work, args)
    return bench_bayou(target, work, args)


class TargetTimeout(Exception):
    """A target overran its time budget (`target_budget`)."""


def on_alarm(*_: object) -> None:
    raise TargetTimeout


def target_budget(args: argparse.Namespace) -> int:
    """Seconds a target may take in all: start and deploy, seeding (the harness's pauses
    included), each measurement with its warm-up, timeouts and precompute, the verify."""
    seeding = args.accounts / CONVEX_SEED_CHUNK * (CONVEX_SEED_PAUSE + 30)
    per_alpha = args.warmup + args.seconds + 2 * 15 + 120
    return int(300 + seeding + len(args.alphas) * per_alpha + 600)


# -- the report ---------------------------------------------------------------------------


def ratio(result: Result, reference: dict[tuple[str, float], Result], name: str) -> str:
    base = reference.get((name, result.alpha))
    if base is None or base.tps == 0 or result.target in ("null", name):
        return "-"
    return f"{result.tps / base.tps:.2f}"


def report(
    results: list[Result], checks: list[Check], args: argparse.Namespace, loads: list[str]
) -> None:
    by_key = {(r.target, r.alpha): r for r in results}
    full = any(r.target == "node-sqlite-full" for r in results)
    columns = ["vs node-sqlite"] + (["vs sqlite-full"] if full else []) + ["vs node-pg"]
    print(
        f"\nkeynote-2 transfer: {args.clients} clients, {args.accounts} accounts, "
        f"{args.seconds:g} s a measurement after {args.warmup:g} s of warm-up, "
        f"client {args.client}, "
        f"{os.cpu_count()} CPUs, load average {loads[0]} at start, {loads[-1]} at end"
    )
    header = (
        f"{'target':18} {'alpha':>5} {'tx/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7} "
        f"{'client':>6}"
    )
    print(header + "".join(f" {c:>14}" for c in columns) + f" {'CPU ms/tx':>12}")
    for r in results:
        cells = [ratio(r, by_key, REFERENCE)]
        if full:
            cells.append(ratio(r, by_key, "node-sqlite-full"))
        pg = r.target.endswith("-postgres") or r.target == "node-postgres"
        cells.append(ratio(r, by_key, "node-postgres") if pg else "-")
        cpu = (
            f"{r.server_cpu_ms:.2f} + {r.worker_cpu_ms:.2f}"
            if r.server_cpu_ms is not None and r.worker_cpu_ms is not None
            else "-"
        )
        print(
            f"{r.target:18} {r.alpha:5g} {r.tps:8.0f} {r.p50_ms:8.1f} {r.p99_ms:8.1f} "
            f"{r.failed:7d} {r.client_cpu:6.0%}"
            + "".join(f" {c:>14}" for c in cells)
            + f" {cpu:>12}"
        )
    print(
        "client: the load generator's CPU over the window (100% = one core); failed: "
        "transfers that failed inside the window; CPU ms/tx: Bayou's server process + its "
        "function workers, per transfer"
    )
    for c in checks:
        verdict = "ok" if c.ok else "FAILED"
        print(
            f"verify {c.target}: {verdict}: {c.accounts} accounts, total {c.total:.0f} "
            f"(expected {args.accounts * INITIAL_BALANCE}), {c.changed} balances changed"
            + (f" ({c.note})" if c.note else "")
        )


def describe_machine() -> str:
    revision = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"bayou {revision or '?'}, Python {platform.python_version()}, Node {node}, "
        f"{platform.machine()} {os.cpu_count()} CPUs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=DEFAULT_TARGETS)
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds a measurement")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of warm-up first")
    parser.add_argument("--clients", type=int, default=50, help="closed-loop clients")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.0, 1.5])
    parser.add_argument(
        "--pairs",
        type=int,
        default=10_000_000,
        help="precomputed transfer pairs (the harness's BENCH_PRECOMPUTED_TRANSFER_PAIRS)",
    )
    parser.add_argument(
        "--client",
        choices=("http", "fetch"),
        default="http",
        help="the load generator's HTTP client: node:http (default, lighter) or fetch "
        "(the harness's own)",
    )
    parser.add_argument(
        "--sync-full",
        action="store_true",
        help="also node-sqlite with synchronous=FULL: the comparison at equal durability",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server, without a database name",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument(
        "--server-cpus",
        help="pin Bayou's server and its workers to these CPUs (a taskset list, e.g. 0 or "
        "0,1): how it scales with cores",
    )
    args = parser.parse_args()
    http_transfer.SERVER_CPUS = args.server_cpus
    args.postgres_url = args.postgres_url.rstrip("/")
    targets = list(dict.fromkeys(args.targets))
    if args.sync_full and "node-sqlite-full" not in targets:
        at = targets.index("node-sqlite") + 1 if "node-sqlite" in targets else len(targets)
        targets.insert(at, "node-sqlite-full")
    args.targets = targets

    # a SIGTERM unwinds like Ctrl-C: every server started is stopped, databases dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    use_recent_node()
    ensure_keynote_packages()
    log(describe_machine())
    loads = [load()]
    log(f"load average at start: {loads[0]}")
    results: list[Result] = []
    checks: list[Check] = []
    if any("postgres" in t for t in targets):
        try:
            pg_admin(args.postgres_url, ["SELECT 1"])
        except Exception as exc:
            raise SystemExit(f"PostgreSQL at {args.postgres_url}: {exc}") from None
    signal.signal(signal.SIGALRM, on_alarm)
    work = Path(tempfile.mkdtemp(prefix="bayou-keynote-"))
    try:
        for target in targets:
            log(f"{target}: (load average {load()})")
            (work / target).mkdir()
            budget = target_budget(args)
            signal.alarm(budget)
            try:
                measured, check = bench(target, work / target, args)
            except TargetTimeout:
                log(f"  {target} did not finish in {budget} s: stopped, going on")
                measured, check = [], Check(target, 0, 0, 0, False, f"timed out ({budget} s)")
            finally:
                signal.alarm(0)
            results += measured
            if check is not None:
                checks.append(check)
                log(f"  verify: {'ok' if check.ok else 'FAILED'} {check}")
    finally:
        loads.append(load())
        log(f"load average at end: {loads[-1]}")
        if args.keep:
            log(f"logs and data in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(results, checks, args, loads)
    if args.json:
        document = {
            "machine": describe_machine(),
            "load_average": {"start": loads[0], "end": loads[-1]},
            "config": {k: v for k, v in vars(args).items() if k not in ("json",)},
            "results": [asdict(r) for r in results],
            "checks": [asdict(c) for c in checks],
        }
        args.json.write_bytes(orjson.dumps(document, default=str, option=orjson.OPT_INDENT_2))
    if not all(c.ok for c in checks):
        raise SystemExit("a verification failed")


if __name__ == "__main__":
    main()
