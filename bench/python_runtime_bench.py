"""Micro-benchmark of the Python runtime: the cost of invoking a function in a worker.

Against an in-memory syscall handler (no database), it measures per call:
  trivial query        a query that returns a constant (one call frame, one done frame)
  2 gets, 2 patches    a mutation reading two documents and patching both (4 syscalls)
  collect 100          a query collecting 100 documents (one batched round trip)
and prints the mean and p50/p99 in µs. Calls run one at a time (the overhead, not the
throughput of the pool).

    .venv/bin/python bench/python_runtime_bench.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from bayou.runtimes.base import Invocation, RuntimeModule
from bayou.runtimes.python.host import PythonRuntime
from bayou.values import json as vjson
from bayou.values.ids import encode_id, new_internal_id

MODULE = """
from bayou import mutation, query, v


@query(args={})
def trivial(ctx):
    return 1


@mutation(args={"a": v.id("accounts"), "b": v.id("accounts")})
def transfer(ctx, a, b):
    x = ctx.db.get(a)
    y = ctx.db.get(b)
    ctx.db.patch(a, {"balance": x["balance"] - 1})
    ctx.db.patch(b, {"balance": y["balance"] + 1})


@query(args={})
def collect(ctx):
    return len(ctx.db.query("accounts").collect())
"""


class Handler:
    """Just enough of the core's syscalls: documents in a dict."""

    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.docs = docs

    async def async_syscall(self, op: str, args: Any) -> Any:
        if op == "1.0/get":
            return vjson.to_json(self.docs[args["id"]])
        if op == "1.0/shallowMerge":
            self.docs[args["id"]].update(vjson.from_json(args["value"]))  # type: ignore[arg-type]
            return None
        if op == "bayou/queryStreamBatch":
            return {"values": [vjson.to_json(d) for d in self.docs.values()], "done": True}
        raise ValueError(op)


def invocation(kind: str, path: str, args: dict[str, Any]) -> Invocation:
    return Invocation(
        version="bench",
        udf_type=kind,  # type: ignore[arg-type]
        path=path,
        args_json="[" + vjson.dumps(args).decode() + "]",
        env={},
        seed=1,
        now_ms=time.time() * 1000,
        table_numbers={"accounts": 10001},
        request_id="bench",
        timeout_s=1.0,
    )


async def measure(
    runtime: PythonRuntime, call: Invocation, handler: Handler, n: int
) -> list[float]:
    for _ in range(50):  # warm-up: imports, caches
        result = await runtime.invoke(call, handler)
        assert result.ok, result.error_message
    times = []
    for _ in range(n):
        start = time.perf_counter()
        await runtime.invoke(call, handler)
        times.append((time.perf_counter() - start) * 1e6)
    return times


def report(name: str, times: list[float]) -> None:
    times.sort()
    p50 = times[len(times) // 2]
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(
        f"{name:<20} mean {statistics.mean(times):8.0f} µs   p50 {p50:8.0f} µs   p99 {p99:8.0f} µs"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    options = parser.parse_args()
    runtime = PythonRuntime(min_idle=1)
    await runtime.start()
    try:
        await runtime.load("bench", [RuntimeModule("bench.py", MODULE, None, "python")])
        docs = {}
        for i in range(100):
            id = encode_id(10001, new_internal_id())
            docs[id] = {"_id": id, "_creationTime": 1.0 + i, "balance": 100.0}
        handler = Handler(docs)
        a, b = list(docs)[:2]
        report(
            "trivial query",
            await measure(
                runtime, invocation("query", "bench.js:trivial", {}), handler, options.calls
            ),
        )
        report(
            "2 gets, 2 patches",
            await measure(
                runtime,
                invocation("mutation", "bench.js:transfer", {"a": a, "b": b}),
                handler,
                options.calls,
            ),
        )
        report(
            "collect 100",
            await measure(
                runtime, invocation("query", "bench.js:collect", {}), handler, options.calls
            ),
        )
        print(f"worker processes started: {runtime.spawned}")
    finally:
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
