"""Benchmark: the scheduler's throughput and lag against running the same mutations
directly through the HTTP API, in one run (issue 11).

Against a real `bayou serve` with bench/apps/scheduler deployed by `npx convex deploy`:
  burst      100 mutations each schedule 100 jobs (10,000 in all) for the same moment;
             measured: the time until every job ran, jobs/s, and each job's lag (its start
             minus its scheduled time) at p50/p99
  idle lag   one `runAfter(0)` at a time, 50 times: the lag of a job on an idle server
  baseline   the same 10,000 mutations sent directly to `/api/mutation`, 8 in flight (the
             scheduler's concurrency): the ratio says what scheduling costs

    python bench/scheduler_bench.py
    python bench/scheduler_bench.py --jobs 2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_transfer import (
    BAYOU,
    BENCH,
    admin_key,
    deploy_app,
    free_port,
    running,
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def call(http: httpx.AsyncClient, kind: str, path: str, args: dict, key: str) -> object:
    answer = (
        await http.post(
            f"/api/{kind}",
            json={"path": path, "args": args, "format": "json"},
            headers={"Authorization": f"Convex {key}"},
        )
    ).json()
    if answer.get("status") != "success":
        raise SystemExit(f"{path} failed: {answer}")
    return answer["value"]


async def wait_for(http: httpx.AsyncClient, via: str, count: int, key: str) -> dict:
    while True:
        stats = await call(http, "query", "sched:stats", {"via": via}, key)
        if stats["count"] >= count:  # type: ignore[index]
            return stats  # type: ignore[return-value]
        await asyncio.sleep(0.05)


async def measure(url: str, key: str, args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=300) as http:
        # Idle lag: one job at a time.
        for _ in range(args.idle):
            before = (await call(http, "query", "sched:stats", {"via": "scheduler"}, key))["count"]  # type: ignore[index]
            await call(http, "mutation", "sched:scheduleMany", {"n": 1, "delayMs": 0}, key)
            await wait_for(http, "scheduler", before + 1, key)
        idle = (await call(http, "query", "sched:stats", {"via": "scheduler"}, key))["lags"]  # type: ignore[index]

        # Burst: batches of scheduling mutations, all due at once.
        per = args.jobs // args.batches
        started = time.monotonic()
        await asyncio.gather(
            *(
                call(http, "mutation", "sched:scheduleMany", {"n": per, "delayMs": 0}, key)
                for _ in range(args.batches)
            )
        )
        stats = await wait_for(http, "scheduler", len(idle) + per * args.batches, key)
        burst_s = time.monotonic() - started
        burst = stats["lags"][len(idle) :]

        # Baseline: the same mutations called directly, as many in flight as the scheduler.
        semaphore = asyncio.Semaphore(8)

        async def direct() -> None:
            async with semaphore:
                now = time.time() * 1000
                await call(
                    http, "mutation", "sched:ran", {"scheduledAt": now, "via": "direct"}, key
                )

        started = time.monotonic()
        await asyncio.gather(*(direct() for _ in range(per * args.batches)))
        direct_s = time.monotonic() - started

    jobs = per * args.batches
    print(f"\nScheduler: {jobs} jobs from {args.batches} mutations; load {os.getloadavg()[0]:.2f}")
    print(
        f"  burst      {burst_s:6.2f} s  {jobs / burst_s:8.0f} jobs/s   lag p50 "
        f"{percentile(burst, 50):7.1f} ms  p99 {percentile(burst, 99):7.1f} ms"
    )
    print(
        f"  idle lag   p50 {percentile(idle, 50):5.1f} ms  p99 {percentile(idle, 99):5.1f} ms "
        f"(max {max(idle):.1f} ms, {len(idle)} jobs one at a time)"
    )
    print(
        f"  baseline   {direct_s:6.2f} s  {jobs / direct_s:8.0f} mutations/s through /api/mutation"
    )
    print(f"  ratio      {(jobs / burst_s) / (jobs / direct_s):.2f} (scheduled / direct)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--idle", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bayou-scheduler-bench-") as tmp:
        work = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        data = work / "data"
        argv = [*BAYOU, "serve", "--data-dir", str(data), "--port", str(port)]
        argv += ["--site-port", str(free_port())]
        with running(argv, url, "bayou serve", work / "bayou.log"):
            key = admin_key(data)
            deploy_app(BENCH / "apps" / "scheduler", work, url, key)
            asyncio.run(measure(url, key, args))


if __name__ == "__main__":
    main()
