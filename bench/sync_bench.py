"""Benchmark: the sync layer end to end, with the official clients against `bayou serve`.

Deploys bench/apps/sync with the official CLI (tests/js must have its npm packages: run the
compatibility tests once, or `npm install` there), then measures:

  ObserveInsert   the official load generator's measure: time from a mutation's start
                  until the subscribed query shows the inserted document, with
                  --subscriptions live subscriptions held by npm ConvexClients (Node, `ws`)
                  in --clients processes; each insert lands in one random subscription
  fan-out         N sessions (raw `ws` sockets speaking the protocol, in one Node process)
                  subscribed to one query; one mutation; time until every session has the
                  new result (median of 5 rounds after a warm-up round); the server's RSS
                  with the N sessions connected

    python bench/sync_bench.py
    python bench/sync_bench.py --subscriptions 1000 --samples 500 --fanout 100,1000,10000
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.compat.conftest import BayouServer, ConvexApp, start_server  # noqa: E402

JS_DIR = ROOT / "tests" / "js"
APP = ROOT / "bench" / "apps" / "sync"
SCRIPTS = ROOT / "bench" / "sync"
ROUNDS = 6  # fan-out rounds per N; the median of all but the first is reported


def node() -> str:
    found = shutil.which("node")
    if found is None:
        sys.exit("node is needed")
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def deployed(tmp: Path) -> tuple[BayouServer, ConvexApp]:
    if not (JS_DIR / "node_modules" / "convex").exists():
        sys.exit("tests/js has no node_modules: run `npm install` in tests/js first")
    server = start_server(tmp / "data")
    work = tmp / "app"
    shutil.copytree(APP, work)
    (work / "node_modules").symlink_to(JS_DIR / "node_modules")
    return server, ConvexApp(work, server, node(), JS_DIR).deploy()


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def observe_insert(subscriptions: int, clients: int, samples: int, pause_ms: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bayou-sync-bench-") as tmp:
        server, _ = deployed(Path(tmp))
        try:
            env = {**os.environ, "NODE_PATH": str(JS_DIR / "node_modules")}
            per = subscriptions // clients
            procs = [
                subprocess.Popen(
                    [
                        node(),
                        str(SCRIPTS / "observe_insert.cjs"),
                        server.url,
                        str(i * per),
                        str(per),
                        str(samples // clients),
                        str(pause_ms),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                )
                for i in range(clients)
            ]
            latencies: list[float] = []
            for proc in procs:
                out, err = proc.communicate(timeout=900)
                if proc.returncode != 0:
                    sys.exit(f"observe_insert.cjs failed:\n{err[-3000:]}\n{server.log_tail()}")
                latencies += json.loads(out.splitlines()[-1])["latenciesMs"]
            rss = rss_mb(server.pid)
        finally:
            server.stop()
    return {
        "subscriptions": per * clients,
        "clients": clients,
        "samples": len(latencies),
        "p50Ms": quantile(latencies, 0.50),
        "p99Ms": quantile(latencies, 0.99),
        "meanMs": statistics.fmean(latencies),
        "maxMs": max(latencies),
        "serverRssMb": rss,
    }


def fanout(n: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bayou-sync-bench-") as tmp:
        server, _ = deployed(Path(tmp))
        try:
            idle_rss = rss_mb(server.pid)
            ws_url = server.url.replace("http://", "ws://") + "/api/1.48.0/sync"
            started = time.monotonic()
            proc = subprocess.Popen(
                [node(), str(SCRIPTS / "fanout.cjs"), ws_url, str(n)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "NODE_PATH": str(JS_DIR / "node_modules")},
            )
            assert proc.stdin is not None and proc.stdout is not None
            ready = json.loads(proc.stdout.readline() or "{}")
            if ready.get("event") != "ready":
                proc.kill()
                sys.exit(f"fanout.cjs failed:\n{proc.stderr.read()[-3000:] if proc.stderr else ''}")
            connect_s = time.monotonic() - started
            connected_rss = rss_mb(server.pid)
            rounds = []
            for _ in range(ROUNDS):
                proc.stdin.write("go\n")
                proc.stdin.flush()
                rounds.append(json.loads(proc.stdout.readline()))
                time.sleep(0.2)
            after_rss = rss_mb(server.pid)
            # The first round also warms up the deployment's code: report the median round.
            done = sorted(rounds[1:], key=lambda r: r["allMs"])[len(rounds[1:]) // 2]
            proc.stdin.close()
            proc.wait(timeout=60)
        finally:
            server.stop()
    return {
        "sessions": n,
        "connectAndSubscribeS": round(connect_s, 2),
        "firstMs": done["firstMs"],
        "p50Ms": done["p50Ms"],
        "p99Ms": done["p99Ms"],
        "allMs": done["allMs"],
        "serverRssIdleMb": round(idle_rss, 1),
        "serverRssMb": round(connected_rss, 1),
        "serverRssAfterMb": round(after_rss, 1),
        "rssPerSessionKb": round((connected_rss - idle_rss) * 1024 / n, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2, help="Node processes holding them")
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--pause-ms", type=int, default=10, help="between inserts of one client")
    parser.add_argument("--fanout", default="100,1000,10000", help="session counts, or ''")
    parser.add_argument("--skip-observe", action="store_true")
    args = parser.parse_args()

    results: dict = {}
    if not args.skip_observe:
        r = observe_insert(args.subscriptions, args.clients, args.samples, args.pause_ms)
        results["observeInsert"] = r
        print(
            f"ObserveInsert  {r['subscriptions']} subscriptions in {r['clients']} npm clients, "
            f"{r['samples']} inserts: p50 {r['p50Ms']:.1f} ms  p99 {r['p99Ms']:.1f} ms  "
            f"mean {r['meanMs']:.1f} ms  max {r['maxMs']:.1f} ms  (server RSS {r['serverRssMb']:.0f} MB)",
            flush=True,
        )
    results["fanout"] = []
    for n in [int(x) for x in args.fanout.split(",") if x.strip()]:
        r = fanout(n)
        results["fanout"].append(r)
        print(
            f"fan-out {n:>6} sessions: all have it after {r['allMs']:.0f} ms "
            f"(first {r['firstMs']:.1f}, p50 {r['p50Ms']:.0f}, p99 {r['p99Ms']:.0f}); "
            f"server RSS {r['serverRssMb']:.0f} MB ({r['rssPerSessionKb']:.0f} KB/session); "
            f"connect+subscribe {r['connectAndSubscribeS']} s",
            flush=True,
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
