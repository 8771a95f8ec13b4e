"""The last hour of the `/metrics` counters, sampled every few seconds in the server.

The dashboard's Health page draws its charts from this ring buffer, so they show the hour
before the page was opened, not only the time it has been open. Each sample reads the
same registry `/metrics` exposes (the same counters, summed over their labels) plus the
scheduler lag, which needs one indexed read; rates and percentiles are differences of
consecutive samples, computed by the page.

    {"t": <unix ms>, "calls", "errors", "commits", "conflicts", "executions",
     "sessions", "subscribed", "lag": <s>, "latency": [cumulative counts by bound]}
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from bayou.database.limits import TransactionLimits
from bayou.model import scheduled_functions

if TYPE_CHECKING:
    from bayou.database.database import Database
    from bayou.runner.metrics import Metrics

INTERVAL_S = 5.0
WINDOW_S = 3600.0
_READ = TransactionLimits(documents_read=1 << 40, bytes_read=1 << 40)
# Sample field ← Prometheus sample name (counters end in `_total` when collected).
_FIELDS = {
    "calls": "bayou_function_calls_total",
    "errors": "bayou_function_errors_total",
    "commits": "bayou_commits_total",
    "conflicts": "bayou_occ_conflicts_total",
    "executions": "bayou_query_executions_total",
    "sessions": "bayou_sync_sessions",
    "subscribed": "bayou_subscribed_queries",
}
_LATENCY = "bayou_function_duration_seconds_bucket"

log = logging.getLogger("bayou.runner")


class MetricsHistory:
    """A ring buffer of samples, `WINDOW_S / interval_s` long."""

    def __init__(self, metrics: Metrics, *, interval_s: float = INTERVAL_S) -> None:
        self.metrics = metrics
        self.interval_s = interval_s
        self.samples: deque[dict[str, Any]] = deque(maxlen=max(2, int(WINDOW_S / interval_s)))
        self.bounds: list[float] = []
        self._db: Database | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, db: Database | None) -> None:
        self._db = db
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                self.samples.append(await self.sample())
            except Exception:  # a metric that cannot be read must not stop the history
                log.exception("sampling metrics failed")
            await asyncio.sleep(self.interval_s)

    def snapshot(self) -> dict[str, Any]:
        """The samples so far, for the dashboard."""
        return {
            "intervalS": self.interval_s,
            "windowS": WINDOW_S,
            "latencyBounds": [b if math.isfinite(b) else None for b in self.bounds],
            "samples": list(self.samples),
        }

    async def sample(self) -> dict[str, Any]:
        values: dict[str, float] = dict.fromkeys(_FIELDS, 0.0)
        names = {name: field for field, name in _FIELDS.items()}
        latency: dict[float, float] = {}
        for family in self.metrics.registry.collect():
            for s in family.samples:
                field = names.get(s.name)
                if field is not None:
                    values[field] += s.value
                elif s.name == _LATENCY:
                    bound = float(s.labels.get("le", "inf"))
                    latency[bound] = latency.get(bound, 0.0) + s.value
        if sorted(latency) != self.bounds and latency:
            self.bounds = sorted(latency)
        return {
            "t": time.time() * 1000,
            **values,
            "lag": await self._lag(),
            "latency": [latency.get(b, 0.0) for b in self.bounds],
        }

    async def _lag(self) -> float:
        """How late the oldest due scheduled function is, in seconds (0: none waits)."""
        db = self._db
        if db is None:
            return 0.0
        tx = db.begin(read_only=True, limits=_READ)
        return await scheduled_functions.lag_s(tx, time.time() * 1000)
