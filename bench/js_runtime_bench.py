"""Benchmark: the JS runtime's overheads, with the bundles the official CLI pushes.

Captures tests/runtimes/js/app with the real `npx convex deploy` (tests/js must have its
npm packages: run the JS runtime tests once, or `npm install` there), then measures with an
in-memory syscall handler that answers at once:

  ping              one pipe round trip through a worker's event loop (the floor)
  query             one trivial query (`misc:noop`), start to result, one in flight
  mutation          `messages:transfer`: 2 gets + 2 patches, i.e. 4 syscall round trips
  per syscall       (mutation − query) / 4
  throughput        calls per second with --concurrency callers on --workers workers

for contexts reused across calls (the default) and a fresh context per call
(`max_context_uses=1`, Convex's own semantics).

    python bench/js_runtime_bench.py
    python bench/js_runtime_bench.py --workers 2 --concurrency 16 --calls 4000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.runtimes.js.capture import capture_push  # noqa: E402

from bayou.runtimes.js import Invocation, JsRuntime, Module  # noqa: E402
from bayou.runtimes.js.node import find_node  # noqa: E402

IDS = ["j5700000000000000000000000001qv0", "j573z6gcbsyj3d68hr56p79f8h7v1knt"]
DOC = {"_id": IDS[0], "_creationTime": 1.0, "name": "a", "value": 5.0}


class Handler:
    """Answers get with a fixed document, everything else with null."""

    async def async_syscall(self, op, args):
        return DOC if op == "1.0/get" else None


QUERY = Invocation(version="v", udf_type="query", path="misc.js:noop", args_json="[{}]")
MUTATION = Invocation(
    version="v",
    udf_type="mutation",
    path="messages.js:transfer",
    args_json=json.dumps([{"from": IDS[0], "to": IDS[1], "amount": 1}]),
    env={"GREETING": "hello"},
    seed=1,
    now_ms=1.7e12,
    table_numbers={"messages": 10001, "counters": 10002},
)


def cpu_seconds(pid: int) -> float:
    """CPU time of a process (0 once it is gone: retired workers make CPU figures approximate)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def sequential_us(rt: JsRuntime, inv: Invocation, n: int) -> float:
    handler = Handler()
    for _ in range(min(200, n)):
        await rt.invoke(inv, handler)
    start = time.perf_counter()
    for _ in range(n):
        result = await rt.invoke(inv, handler)
        assert result.ok, result.error_message
    return (time.perf_counter() - start) / n * 1e6


async def throughput(rt: JsRuntime, inv: Invocation, calls: int, concurrency: int) -> str:
    async def caller(n: int) -> None:
        handler = Handler()
        for _ in range(n):
            await rt.invoke(inv, handler)

    await asyncio.gather(*(caller(20) for _ in range(concurrency)))
    pids = rt.worker_pids()["udf"] + [os.getpid()]
    cpu0 = [cpu_seconds(p) for p in pids]
    start = time.perf_counter()
    per = max(1, calls // concurrency)
    await asyncio.gather(*(caller(per) for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    cpu1 = [cpu_seconds(p) for p in pids]
    total = per * concurrency
    node_us = sum(max(0.0, b - a) for a, b in zip(cpu0[:-1], cpu1[:-1], strict=True)) / total * 1e6
    py_us = (cpu1[-1] - cpu0[-1]) / total * 1e6
    return f"{total / elapsed:7.0f}/s  (CPU per call: node {node_us:.0f} µs, python {py_us:.0f} µs)"


async def run(modules: list[Module], args: argparse.Namespace) -> None:
    for label, uses in [("contexts reused", 0), ("fresh context per call", 1)]:
        rt = JsRuntime(workers=args.workers, max_context_uses=uses)
        await rt.start()
        await rt.load("v", modules)
        try:
            worker = rt._udf_workers[0]
            for _ in range(200):
                await worker.ping()
            start = time.perf_counter()
            for _ in range(args.calls):
                await worker.ping()
            ping = (time.perf_counter() - start) / args.calls * 1e6
            query = await sequential_us(rt, QUERY, args.calls)
            mutation = await sequential_us(rt, MUTATION, args.calls)
            print(f"== {label} (workers={args.workers})")
            print(f"  ping             {ping:7.0f} µs")
            print(f"  query            {query:7.0f} µs")
            print(f"  mutation         {mutation:7.0f} µs")
            print(f"  per syscall      {(mutation - query) / 4:7.0f} µs")
            for inv, name in [(QUERY, "query"), (MUTATION, "mutation")]:
                tput = await throughput(rt, inv, args.calls, args.concurrency)
                print(f"  {name:9} x{args.concurrency:<3}    {tput}")
        finally:
            await rt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    node = find_node()
    pushed = capture_push(ROOT / "tests/runtimes/js/app", ROOT / "tests/js", node)
    modules = [Module.from_json(m) for m in pushed.modules]
    sizes = sum(len(m.source) for m in modules)
    print(f"node {node}; {len(modules)} modules, {sizes / 1024:.0f} KB of JS")
    asyncio.run(run(modules, args))


if __name__ == "__main__":
    main()
