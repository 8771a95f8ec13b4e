"""Benchmark: HTTP actions (JavaScript and Python) against a plain Starlette endpoint doing
the same work, in one run (issue 11).

`wrk` POSTs `{"name": "bench", "n": 21}` to `/echo` with --connections keep-alive
connections; each target parses the body and answers JSON:
  plain     bench/plain_echo_server.py: a Starlette endpoint (uvicorn, httptools, uvloop)
  bayou-js  `bayou serve`, bench/apps/http-js deployed by `npx convex deploy`, on its site port
  bayou-py  `bayou serve`, bench/apps/http-py deployed by `bayou deploy`, on its site port
Printed: requests per second, mean latency, non-2xx answers, and the ratio to plain.

    python bench/http_action_bench.py
    python bench/http_action_bench.py --duration 20 --targets plain bayou-py
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_transfer import (
    BENCH,
    ensure_wrk,
    free_port,
    running,
    serving,
)

TARGETS = ("plain", "bayou-js", "bayou-py")
LUA = BENCH / "wrk" / "echo.lua"


def run_wrk(wrk: str, url: str, args: argparse.Namespace, seconds: float) -> tuple[float, str, int]:
    command = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{max(1, round(seconds))}s"]
    command += ["--timeout", "30s", "-s", str(LUA), url + "/echo"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = re.search(r"Latency\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, latency, int(non2xx.group(1)) if non2xx else 0


def measure(target: str, url: str, wrk: str, args: argparse.Namespace) -> tuple[float, str, int]:
    run_wrk(wrk, url, args, args.warmup)
    rps, latency, bad = run_wrk(wrk, url, args, args.duration)
    print(
        f"  {target:9} {rps:9.0f} req/s  mean latency {latency:>8}  non-2xx {bad}", file=sys.stderr
    )
    return rps, latency, bad


def bench_plain(work: Path, wrk: str, args: argparse.Namespace) -> tuple[float, str, int]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, str(BENCH / "plain_echo_server.py"), "--port", str(port)]
    with running(argv, url, "the plain Starlette server", work / "plain.log"):
        return measure("plain", url, wrk, args)


def bench_bayou(
    language: str, work: Path, wrk: str, args: argparse.Namespace
) -> tuple[float, str, int]:
    with serving(BENCH / "apps" / f"http-{language}", work, f"bayou-{language}") as deployment:
        return measure(f"bayou-{language}", deployment.site_url, wrk, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds a measurement")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    args = parser.parse_args()
    wrk = ensure_wrk()
    results: dict[str, tuple[float, str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="bayou-http-action-bench-") as tmp:
        work = Path(tmp)
        for target in args.targets:
            print(f"{target}:", file=sys.stderr)
            if target == "plain":
                results[target] = bench_plain(work, wrk, args)
            else:
                results[target] = bench_bayou(target.removeprefix("bayou-"), work, wrk, args)
    plain = results.get("plain")
    print(
        f"\nHTTP actions: POST /echo, {args.connections} connections, {args.duration:g} s a "
        f"measurement; load {os.getloadavg()[0]:.2f}"
    )
    print(f"{'target':10} {'req/s':>9} {'latency':>9} {'non-2xx':>8} {'vs plain':>9}")
    for target, (rps, latency, bad) in results.items():
        ratio = f"{rps / plain[0]:.2f}" if plain else "-"
        print(f"{target:10} {rps:9.0f} {latency:>9} {bad:8d} {ratio:>9}")


if __name__ == "__main__":
    main()
