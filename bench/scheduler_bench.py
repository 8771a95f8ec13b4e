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
from http_transfer import BENCH, serving


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


async def wait_for(
    http: httpx.AsyncClient, via: str, count: int, key: str, every_s: float = 0.05
) -> dict:
    """The stats of `via` once `count` runs are in (counted every `every_s`)."""
    while await call(http, "query", "sched:count", {"via": via}, key) < count:  # type: ignore[operator]
        await asyncio.sleep(every_s)
    return await call(http, "query", "sched:stats", {"via": via}, key)  # type: ignore[return-value]


async def measure(url: str, key: str, args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=300) as http:
        # Idle lag: one job at a time.
        for i in range(args.idle):
            await call(
                http, "mutation", "sched:scheduleMany", {"n": 1, "delayMs": 0, "via": "idle"}, key
            )
            await wait_for(http, "idle", i + 1, key)
        idle = await wait_for(http, "idle", args.idle, key)

        # Burst: batches of scheduling mutations, all due at once.
        per = args.jobs // args.batches
        jobs = per * args.batches
        started = time.monotonic()
        await asyncio.gather(
            *(
                call(
                    http,
                    "mutation",
                    "sched:scheduleMany",
                    {"n": per, "delayMs": 0, "via": "burst"},
                    key,
                )
                for _ in range(args.batches)
            )
        )
        burst = await wait_for(http, "burst", jobs, key, every_s=0.5)
        burst_s = time.monotonic() - started

        # Baseline: the same mutations called directly, as many in flight as the scheduler.
        semaphore = asyncio.Semaphore(8)

        async def direct() -> None:
            async with semaphore:
                now = time.time() * 1000
                await call(
                    http, "mutation", "sched:ran", {"scheduledAt": now, "via": "direct"}, key
                )

        started = time.monotonic()
        await asyncio.gather(*(direct() for _ in range(jobs)))
        direct_s = time.monotonic() - started

    print(f"\nScheduler: {jobs} jobs from {args.batches} mutations; load {os.getloadavg()[0]:.2f}")
    print(
        f"  burst      {burst_s:6.2f} s  {jobs / burst_s:8.0f} jobs/s   lag p50 "
        f"{burst['p50']:7.1f} ms  p99 {burst['p99']:7.1f} ms"
    )
    print(
        f"  idle lag   p50 {idle['p50']:5.1f} ms  p99 {idle['p99']:5.1f} ms "
        f"(max {idle['max']:.1f} ms, {args.idle} jobs one at a time)"
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
        with serving(BENCH / "apps" / "scheduler", work, "data") as deployment:
            asyncio.run(measure(deployment.url, deployment.admin_key, args))


if __name__ == "__main__":
    main()
