"""Operations endpoints: Prometheus metrics, liveness and readiness.

    GET /metrics   Prometheus text format (`bayou.runner.metrics`); 404 `MetricsDisabled`
                   with DISABLE_METRICS_ENDPOINT=true, as on Convex
    GET /health    200 while the process serves requests (liveness)
    GET /ready     200 when the database and the file store answer, else 503 naming the
                   part that does not (readiness)

None needs a key, as on Convex: put the port behind your network's rules, or disable the
metrics endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bayou.backend import Backend
from bayou.database.limits import TransactionLimits
from bayou.errors import NotFound
from bayou.model import scheduled_functions
from bayou.runner.metrics import CONTENT_TYPE, Sample
from bayou.server.http import json_response

READY_TIMEOUT_S = 5.0
MAX_FILES_COUNTED = 100_000
SCRAPE_LIMITS = TransactionLimits(documents_read=1 << 40, bytes_read=1 << 40)
log = logging.getLogger("bayou.server")


def _samples(backend: Backend) -> Iterable[Sample]:
    db = backend.db
    if db is not None:
        committer = db.committer
        yield ("bayou_commits", "counter", "Transactions committed.", committer.commits)
        yield ("bayou_commit_batches", "counter", "Durable writes of commits.", committer.batches)
        yield (
            "bayou_occ_conflicts",
            "counter",
            "Transactions rejected by an optimistic concurrency conflict (then retried).",
            committer.conflicts,
        )
        yield (
            "bayou_latest_commit_timestamp_seconds",
            "gauge",
            "Timestamp of the latest commit.",
            db.latest_ts / 1e9,
        )
    if backend.sync is not None:
        stats = backend.sync.stats()
        yield ("bayou_sync_sessions", "gauge", "Live WebSocket sync sessions.", stats["sessions"])
        yield (
            "bayou_subscribed_queries",
            "gauge",
            "Distinct queries with live subscribers.",
            stats["subscribedQueries"],
        )
        yield (
            "bayou_cached_queries",
            "gauge",
            "Query results in the shared cache.",
            stats["cachedQueries"],
        )
        yield (
            "bayou_query_executions",
            "counter",
            "Query executions for subscriptions (cache misses and re-runs).",
            stats["executions"],
        )


async def _database_samples(backend: Backend) -> list[Sample]:
    """What needs a read of the database: scheduler lag and stored file bytes."""
    db = backend.db
    if db is None:
        return []
    tx = db.begin(read_only=True, limits=SCRAPE_LIMITS)
    lag = await scheduled_functions.lag_s(tx, time.time() * 1000)
    files = await tx.query(
        {
            "source": {"type": "FullTableScan", "tableName": "_storage", "order": "asc"},
            "operators": [{"limit": MAX_FILES_COUNTED}],
        },
        system=True,
    ).collect()
    return [
        (
            "bayou_scheduler_lag_seconds",
            "gauge",
            "How late the oldest due scheduled function is (0: none is waiting).",
            lag,
        ),
        ("bayou_storage_files", "gauge", "Stored files (counted up to 100,000).", len(files)),
        (
            "bayou_storage_bytes",
            "gauge",
            "Bytes of stored files (of the first 100,000).",
            sum(float(f.get("size") or 0) for f in files),
        ),
    ]


def routes(backend: Backend) -> list[Route]:
    backend.metrics.add_collector("backend", lambda: list(_samples(backend)))
    latest: list[Sample] = []
    backend.metrics.add_collector("database", lambda: list(latest))

    async def metrics(request: Request) -> Response:
        if backend.settings.disable_metrics_endpoint:
            raise NotFound(
                "The metrics endpoint is disabled (DISABLE_METRICS_ENDPOINT=true).",
                code="MetricsDisabled",
            )
        try:
            latest[:] = await _database_samples(backend)
        except Exception:  # a metric that cannot be read must not hide the others
            log.exception("reading database metrics failed")
        return Response(backend.metrics.exposition(), media_type=CONTENT_TYPE)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def ready(request: Request) -> Response:
        checks: dict[str, str] = {}
        ok = True
        try:
            assert backend.db is not None and backend.started, "not started"
            await asyncio.wait_for(backend.db.persistence.max_ts(), READY_TIMEOUT_S)
            checks["database"] = "ok"
        except Exception as e:
            checks["database"] = f"unavailable: {e or type(e).__name__}"
            ok = False
        try:
            files = backend.files
            assert files is not None, "not started"
            await asyncio.wait_for(
                files.store.head(files.prefix + "bayou-ready-check"), READY_TIMEOUT_S
            )
            checks["storage"] = "ok"
        except Exception as e:
            checks["storage"] = f"unavailable: {e or type(e).__name__}"
            ok = False
        return json_response({"ready": ok, **checks}, status=200 if ok else 503)

    return [
        Route("/metrics", metrics),
        Route("/health", health),
        Route("/ready", ready),
    ]
