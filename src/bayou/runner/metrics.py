"""Prometheus metrics of one backend (`GET /metrics`), through `prometheus-client`.

Each `Metrics` has its own `CollectorRegistry` (no module-level state: two servers in one
test process keep separate counts). Events are counted as they happen:

    bayou_function_calls_total{function, kind, status}     every call in the function log
    bayou_function_errors_total{function, kind}            calls that failed
    bayou_function_duration_seconds{function, kind}        latency histogram
    bayou_commit_batch_size                                 commits per durable write
    bayou_commit_write_seconds                              each batch's write (fsync) time

and the rest is read from the running parts when scraped (`add_collector`): commits,
OCC conflicts, live sessions and subscriptions, query executions, the latest timestamp,
scheduler lag and stored bytes (`bayou.server.ops_routes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

KINDS = {"Query": "query", "Mutation": "mutation", "Action": "action", "HttpAction": "http"}
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Sample = tuple[str, str, str, float]  # (name, type "counter"|"gauge", help, value)


class _Callback(Collector):
    def __init__(self, read: Callable[[], Iterable[Sample]]) -> None:
        self._read = read

    def collect(self) -> Iterable[Any]:
        for name, kind, help_text, value in self._read():
            family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield family(name, help_text, value=value)


class Metrics:
    """A backend's metrics; `observe_call` and `observe_batch` are hooked to its parts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._collectors: set[str] = set()
        self.calls = Counter(
            "bayou_function_calls",
            "Function calls by function, kind and outcome.",
            ["function", "kind", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "bayou_function_errors",
            "Function calls that failed, by function and kind.",
            ["function", "kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bayou_function_duration_seconds",
            "Execution time of function calls.",
            ["function", "kind"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "bayou_commit_batch_size",
            "Transactions committed by one durable write (group commit).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
        self.write_seconds = Histogram(
            "bayou_commit_write_seconds",
            "Time to write (and fsync) one batch of commits.",
            registry=self.registry,
        )

    def observe_call(self, entry: dict[str, Any]) -> None:
        """A function-log entry (a completed call)."""
        if entry.get("kind") != "Completion":
            return
        function = str(entry.get("identifier") or "")
        kind = KINDS.get(str(entry.get("udfType")), "other")
        failed = bool(entry.get("error"))
        self.calls.labels(function, kind, "error" if failed else "success").inc()
        if failed:
            self.errors.labels(function, kind).inc()
        seconds = entry.get("executionTime")
        if isinstance(seconds, int | float):
            self.latency.labels(function, kind).observe(max(0.0, float(seconds)))

    def observe_batch(self, commits: int, seconds: float) -> None:
        """A durable write of `commits` transactions that took `seconds`."""
        self.batch_size.observe(commits)
        self.write_seconds.observe(seconds)

    def add_collector(self, name: str, read: Callable[[], Iterable[Sample]]) -> None:
        """Values read at scrape time from `read()` (once per `name`)."""
        if name in self._collectors:
            return
        self._collectors.add(name)
        self.registry.register(_Callback(read))

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)
