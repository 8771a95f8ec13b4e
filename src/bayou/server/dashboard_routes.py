"""The dashboard: its page and assets at `/dashboard`, and the admin endpoints it reads and
writes through (`/api/dashboard/*`). Everything else it uses is Bayou's public surface:
`/api/function` (run a function), `/api/stream_function_logs`, the env-var routes,
`/api/storage/*`, `/api/bayou/status`, `/api/bayou/backups`, `/metrics`.

    GET  /dashboard[/...]                         the single page and its static assets
    GET  /api/dashboard/overview                  instance, version, URLs, key's rights
    GET  /api/dashboard/tables?component=         tables with counts, indexes, the schema
    GET  /api/dashboard/documents?table&cursor&numItems&order&index&range&filter&component
    POST /api/dashboard/documents/insert          {table, document, component?}
    POST /api/dashboard/documents/replace         {id, document, component?}
    POST /api/dashboard/documents/delete          {ids, component?}
    POST /api/dashboard/tables/clear              {table, component?} one batch → {deleted, hasMore}
    POST /api/dashboard/tables/delete             {tableNames, component?} (dashboard_tables)
    GET  /api/dashboard/functions                 every function: kind, visibility, validators
    GET  /api/dashboard/schedules                 recent scheduled jobs and the cron jobs
    POST /api/dashboard/schedules/cancel          {id} or {all: true}
    GET  /api/dashboard/files?cursor              `_storage`, newest first, with URLs
    POST /api/dashboard/files/upload_url          an upload URL (as generateUploadUrl)
    POST /api/dashboard/files/delete              {ids}
    GET  /api/dashboard/backups/{name}            a backup ZIP
    GET  /api/dashboard/doctor                    `bayou doctor`'s server-side checks
    GET  /api/dashboard/metrics_history           the last hour of the /metrics counters

The pages stay live through the sync WebSocket (`/api/sync`), subscribed to the admin
system queries `_system/dashboard/*` (`bayou.runner.dashboard_queries`); the GET routes
above serve the same data to scripts and tests.

Every endpoint takes the admin key in `Authorization: Convex <key>` — never a cookie — so
another site's page cannot make a browser send a write (no CSRF); those that change
anything refuse a read-only key. Documents travel in Convex's JSON encoding (ids, int64
and bytes survive a round trip), and writes go through ordinary transactions, so the
active schema validates them exactly as it validates a mutation's.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from bayou import __version__
from bayou.backend import Backend
from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.database.table_counts import TableCounts
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest, NotFound
from bayou.files.service import stream
from bayou.model import file_storage, scheduled_functions
from bayou.model.deployment import Deployment
from bayou.protocol.function_path import FunctionPath
from bayou.runner import dashboard_queries
from bayou.server import dashboard_health, dashboard_tables
from bayou.server.auth import request_identity, require_admin, require_write
from bayou.server.http import json_response, read_json
from bayou.values import ids
from bayou.values import json as vjson

ASSETS = Path(str(resources.files("bayou.server") / "dashboard"))
# The page may talk only to its own origin and load nothing from elsewhere.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}


def routes(backend: Backend) -> list[Route]:
    api = DashboardApi(backend)
    return [
        Route("/dashboard", api.page),
        Route("/dashboard/{path:path}", api.asset),
        Route("/api/dashboard/overview", api.overview),
        Route("/api/dashboard/tables", api.tables),
        Route("/api/dashboard/documents", api.documents),
        Route("/api/dashboard/documents/insert", api.insert, methods=["POST"]),
        Route("/api/dashboard/documents/replace", api.replace, methods=["POST"]),
        Route("/api/dashboard/documents/delete", api.delete, methods=["POST"]),
        Route("/api/dashboard/tables/clear", api.clear_table, methods=["POST"]),
        Route("/api/dashboard/tables/delete", api.delete_tables, methods=["POST"]),
        Route("/api/dashboard/functions", api.functions),
        Route("/api/dashboard/schedules", api.schedules),
        Route("/api/dashboard/schedules/cancel", api.cancel, methods=["POST"]),
        Route("/api/dashboard/files", api.files),
        Route("/api/dashboard/files/upload_url", api.upload_url, methods=["POST"]),
        Route("/api/dashboard/files/delete", api.delete_files, methods=["POST"]),
        Route("/api/dashboard/backups/{name}", api.backup_file),
        Route("/api/dashboard/doctor", api.doctor),
        Route("/api/dashboard/metrics_history", api.metrics_history),
    ]


def _asset(path: Path) -> Response:
    return FileResponse(
        path,
        media_type=_TYPES.get(path.suffix, "application/octet-stream"),
        headers={
            "content-security-policy": CSP,
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "cache-control": "no-cache",
        },
    )


def _component(params: Any) -> str:
    component = params.get("component") or ""
    if not isinstance(component, str):
        raise BadRequest("`component` must be a string", code="BadJsonBody")
    return component


class DashboardApi:
    """Route handlers bound to one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._deleter: dashboard_tables.TableDeleter | None = None

    @property
    def db(self) -> Database:
        assert self.backend.db is not None
        return self.backend.db

    def counts(self) -> TableCounts:
        """The counts the live `_system/dashboard/tableCounts` query keeps too."""
        assert self.backend.runner is not None
        return self.backend.runner.system_functions.counts

    def _admin(self, request: Request) -> Any:
        return require_admin(request_identity(self.backend, request))

    async def _body(self, request: Request) -> dict[str, Any]:
        require_write(request_identity(self.backend, request))
        body = await read_json(request)
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object", code="BadJsonBody")
        return body

    # -- the page -----------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        return _asset(ASSETS / "index.html")

    async def asset(self, request: Request) -> Response:
        name = request.path_params["path"]
        target = (ASSETS / name).resolve()
        if not name or not target.is_relative_to(ASSETS.resolve()) or not target.is_file():
            # A deep link (`/dashboard/data`) is the page itself; its script routes.
            if "." not in name.rsplit("/", 1)[-1]:
                return _asset(ASSETS / "index.html")
            raise NotFound(f"No dashboard asset {name!r}", code="NotFound")
        return _asset(target)

    # -- overview -----------------------------------------------------------------------

    async def overview(self, request: Request) -> Response:
        identity = self._admin(request)
        s = self.backend.settings
        return json_response(
            {
                "instance": self.backend.instance_name,
                "version": __version__,
                "readOnly": identity.read_only,
                "apiUrl": s.api_origin,
                "siteUrl": s.http_origin,
                "status": self.backend.status(),
                "metricsEnabled": not s.disable_metrics_endpoint,
                "components": sorted(self.backend.deployment.components),
                "serverTime": time.time() * 1000,
            }
        )

    # -- data ---------------------------------------------------------------------------

    async def tables(self, request: Request) -> Response:
        self._admin(request)
        tx = self.db.begin(read_only=True, namespace=_component(request.query_params))
        listing = dashboard_queries.table_listing(tx)
        for info, row in zip(dashboard_queries.shown_tables(tx), listing, strict=True):
            row["count"] = await self.counts().count(info)
        return json_response(
            {
                "tables": listing,
                "schema": dashboard_queries.active_schema(tx),
                "latestTs": self.db.latest_ts,
            }
        )

    async def documents(self, request: Request) -> Response:
        self._admin(request)
        params = request.query_params
        try:
            num = int(params.get("numItems", dashboard_queries.PAGE_SIZE))
        except ValueError:
            raise BadRequest("`numItems` must be a number", code="BadRequest") from None
        tx = self.db.begin(read_only=True, namespace=_component(params))
        args = {
            "table": params.get("table") or "",
            "order": params.get("order", "desc"),
            "index": params.get("index"),
            "filter": params.get("filter"),
            "range": params.get("range"),
            "paginationOpts": {"numItems": num, "cursor": params.get("cursor") or None},
        }
        result = await dashboard_queries.page_of_documents(tx, args)
        result["page"] = [vjson.to_json(d) for d in result["page"]]
        result["latestTs"] = tx.begin_ts
        return json_response(result)

    async def insert(self, request: Request) -> Response:
        body = await self._body(request)
        table = body.get("table")
        if not isinstance(table, str) or not table or table.startswith("_"):
            raise BadRequest("`table` must name one of the app's tables", code="BadRequest")
        document = _document(body.get("document"))

        async def write(tx: Transaction) -> str:
            return await tx.insert(table, document)

        new_id, _ = await run_transaction(self.db, write, namespace=_component(body))
        return json_response({"id": new_id})

    async def replace(self, request: Request) -> Response:
        body = await self._body(request)
        doc_id = body.get("id")
        if not isinstance(doc_id, str):
            raise BadRequest("`id` must be a document id", code="BadRequest")
        document = _document(body.get("document"))

        async def write(tx: Transaction) -> None:
            _check_user_table(tx, doc_id)
            await tx.replace(doc_id, document)

        await run_transaction(self.db, write, namespace=_component(body))
        return json_response({})

    async def delete(self, request: Request) -> Response:
        body = await self._body(request)
        doc_ids = _ids(body)

        async def write(tx: Transaction) -> None:
            for doc_id in doc_ids:
                _check_user_table(tx, doc_id)
                await tx.delete(doc_id)

        await run_transaction(self.db, write, namespace=_component(body))
        return json_response({"deleted": len(doc_ids)})

    async def clear_table(self, request: Request) -> Response:
        body = await self._body(request)
        table = body.get("table")
        if not isinstance(table, str):
            raise BadRequest("`table` must name a table", code="BadJsonBody")
        return json_response(await dashboard_tables.clear_page(self.db, table, _component(body)))

    async def delete_tables(self, request: Request) -> Response:
        body = await self._body(request)
        names = body.get("tableNames")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BadRequest("`tableNames` must be a list of table names", code="BadJsonBody")
        if self._deleter is None or self._deleter.db is not self.db:
            self._deleter = dashboard_tables.TableDeleter(self.db)
        deleted = await self._deleter.delete(names, _component(body))
        return json_response({"deletedDocuments": deleted})

    # -- health -------------------------------------------------------------------------

    async def doctor(self, request: Request) -> Response:
        self._admin(request)
        return json_response({"checks": await dashboard_health.checks(self.backend, request)})

    async def metrics_history(self, request: Request) -> Response:
        self._admin(request)
        history = self.backend.metrics_history
        # The latest point is now, so the page's last bar is never a few seconds old.
        now = await history.sample()
        found = history.snapshot()
        found["samples"].append(now)
        return json_response(found)

    # -- functions ----------------------------------------------------------------------

    async def functions(self, request: Request) -> Response:
        self._admin(request)
        deployment = self.backend.deployment
        out: list[dict[str, Any]] = []
        for component in ["", *sorted(deployment.components)]:
            code = deployment.code(component)
            if code is not None:
                out += _functions_of(code, component)
        routes = [
            {"method": r.get("route", r).get("method"), "path": r.get("route", r).get("path")}
            for r in deployment.http_routes()
        ]
        return json_response({"functions": out, "httpRoutes": routes})

    # -- schedules ----------------------------------------------------------------------

    async def schedules(self, request: Request) -> Response:
        self._admin(request)
        found = await dashboard_queries.schedules(self.db.begin(read_only=True))
        return json_response(vjson.to_json(found))

    async def cancel(self, request: Request) -> Response:
        body = await self._body(request)
        now_ms = time.time() * 1000

        async def cancel_one(tx: Transaction) -> int:
            await scheduled_functions.cancel(tx, body.get("id"), now_ms)
            return 1

        async def cancel_all(tx: Transaction) -> int:
            pending = await scheduled_functions.pending(tx, 1000)
            for job in pending:
                await scheduled_functions.cancel(tx, job.id, now_ms)
            return len(pending)

        fn = cancel_all if body.get("all") is True else cancel_one
        canceled, _ = await run_transaction(self.db, fn)
        return json_response({"canceled": canceled})

    # -- files --------------------------------------------------------------------------

    async def files(self, request: Request) -> Response:
        self._admin(request)
        assert self.backend.files is not None
        tx = self.db.begin(read_only=True)
        cursor = request.query_params.get("cursor") or None
        result = await dashboard_queries.page_of_documents(
            tx,
            {
                "table": file_storage.STORAGE.name,
                "order": "desc",
                "paginationOpts": {"numItems": dashboard_queries.PAGE_SIZE, "cursor": cursor},
            },
        )
        result["page"] = [
            {**vjson.to_json(doc), "url": self.backend.files.file_url(ids.decode_id(doc["_id"])[1])}
            for doc in result["page"]
        ]
        return json_response(result)

    async def upload_url(self, request: Request) -> Response:
        await self._body(request)
        assert self.backend.files is not None
        return json_response({"url": self.backend.files.upload_url()})

    async def delete_files(self, request: Request) -> Response:
        body = await self._body(request)
        storage_ids = _ids(body)

        async def write(tx: Transaction) -> None:
            for storage_id in storage_ids:
                internal = file_storage.resolve(tx, storage_id, "storage.delete")
                await file_storage.delete(tx, internal, storage_id)

        await run_transaction(self.db, write)
        if self.backend.files is not None:
            self.backend.files.wake_collector()
        return json_response({"deleted": len(storage_ids)})

    # -- backups ------------------------------------------------------------------------

    async def backup_file(self, request: Request) -> Response:
        self._admin(request)
        backups = self.backend.backups
        assert backups is not None
        name = request.path_params["name"]
        found = next((b for b in await backups.list() if b.name == name), None)
        if found is None:
            raise NotFound(f"No backup named {name!r}", code="NotFound")
        headers = {"content-disposition": f"attachment; filename={name}"}
        if backups.store is None:  # a local directory
            return FileResponse(found.location, media_type="application/zip", headers=headers)
        body = await backups.store.get(found.name)  # an S3 bucket (BAYOU_BACKUP_S3_BUCKET)
        if body is None:
            raise NotFound(f"Backup {name!r} is no longer in its bucket", code="NotFound")
        headers["content-length"] = str(found.size)
        return StreamingResponse(stream(body), media_type="application/zip", headers=headers)


def _document(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadRequest("`document` must be an object", code="BadJsonBody")
    value = vjson.from_json({k: v for k, v in raw.items() if k not in ("_id", "_creationTime")})
    assert isinstance(value, dict)
    return value


def _ids(body: dict[str, Any]) -> list[str]:
    found = body.get("ids")
    if not isinstance(found, list) or not all(isinstance(i, str) for i in found):
        raise BadRequest("`ids` must be a list of ids", code="BadJsonBody")
    return found


def _check_user_table(tx: Transaction, doc_id: str) -> None:
    table = tx.table_of_id(doc_id)
    if table is not None and table.is_system:
        raise BadRequest(
            f"{doc_id} is a document of the system table {table.name}: the dashboard edits "
            "the app's own tables only.",
            code="BadRequest",
        )


def _functions_of(code: Deployment, component: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for module_path, info in sorted(code.analysis.items()):
        module = module_path.removesuffix(".js").removesuffix(".py")
        for fn in (info or {}).get("functions") or []:
            kind = fn.get("udfType")
            if kind == "HttpAction":
                continue
            out.append(
                {
                    "identifier": FunctionPath(module, fn["name"]).canonical,
                    "component": component,
                    "module": module_path,
                    "name": fn["name"],
                    "kind": kind,
                    "visibility": (fn.get("visibility") or {}).get("kind", "public"),
                    "args": _validator(fn.get("args")),
                    "returns": _validator(fn.get("returns")),
                }
            )
    return out


def _validator(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
