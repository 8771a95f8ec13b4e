"""The system queries the dashboard subscribes to over the sync WebSocket (admins only).

Each is an ordinary reactive query over a read-only transaction: it records what it read,
so a commit that touches it re-runs it and the page receives the new result within one
transition — the dashboard at `/dashboard` is a client of Bayou's own sync protocol, with
no polling. A component's tables are those of the query's component (`componentPath`).

    _system/dashboard/tables        {}   {tables: [{name, system, indexes}], schema}
    _system/dashboard/tableCounts   {}   {<table>: documents}, exact at the query's timestamp
    _system/dashboard/documents     {table, order?, index?, range?, filter?, paginationOpts}
                                         a PaginationResult (`range`, `filter`: JSON text)
    _system/dashboard/schedules     {}   {jobs: the 200 newest scheduled functions, crons}
    _system/dashboard/files         {paginationOpts}   `_storage`, newest first, with `url`
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from bayou.database.catalog import INDEXES, SCHEMAS, TABLES
from bayou.database.index_key import compile_range
from bayou.database.namespaced import in_namespace
from bayou.database.pagination import PaginationOptions, paginate
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest
from bayou.model import cron_jobs, file_storage, scheduled_functions
from bayou.model.system_tables import USER_READABLE_SYSTEM_TABLES
from bayou.values import ids

if TYPE_CHECKING:
    from bayou.runner.system_functions import SystemCall

PAGE_SIZE = 50
MAX_PAGE = 500
FILTER_ROWS_READ = 20_000
JOBS_SHOWN = 200


# -- queries the HTTP routes share -------------------------------------------------------


def by_index(table: str, index: str, order: str = "asc") -> dict[str, Any]:
    return {
        "source": {
            "type": "IndexRange",
            "indexName": f"{table}.{index}",
            "range": [],
            "order": order,
        },
        "operators": [],
    }


def table_query(
    table: str,
    order: str,
    index: str | None,
    filter_text: str | None,
    range_text: str | None = None,
) -> dict[str, Any]:
    """A page's query: an index range (by creation time unless `index`; `range_text` the
    JSON of Convex's range expressions over the index's fields) and an optional filter."""
    if order not in ("asc", "desc"):
        raise BadRequest("`order` must be asc or desc", code="BadRequest")
    source = {
        "type": "IndexRange",
        "indexName": f"{table}.{index or 'by_creation_time'}",
        "range": _json_param(range_text, "range", []),
        "order": order,
    }
    filter_expr = _json_param(filter_text, "filter", None)
    operators = [] if filter_expr is None else [{"filter": filter_expr}]
    return {"source": source, "operators": operators}


def _json_param(text: str | None, name: str, default: Any) -> Any:
    if not text:
        return default
    if not isinstance(text, str):
        raise BadRequest(f"`{name}` must be JSON text", code="BadRequest")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRequest(f"`{name}` must be JSON", code="BadRequest") from None


def shown_tables(tx: Transaction) -> list[Any]:
    """The tables of the transaction's namespace the dashboard lists: the app's own, then
    the system tables functions may read."""
    found = [
        info
        for info in tx.catalog.tables()
        if info.namespace == tx.namespace
        and (not info.is_system or info.name in USER_READABLE_SYSTEM_TABLES)
    ]
    return sorted(found, key=lambda t: (t.is_system, t.name))


def table_listing(tx: Transaction) -> list[dict[str, Any]]:
    return [
        {
            "name": info.name,
            "system": info.is_system,
            "indexes": [
                {
                    "name": i.name,
                    "fields": list(i.fields),
                    "kind": i.kind,
                    "state": i.state,
                    "staged": i.staged,
                }
                for i in sorted(info.indexes.values(), key=lambda i: i.name)
                if i.kind != "by_id"
            ],
        }
        for info in shown_tables(tx)
    ]


def active_schema(tx: Transaction) -> Any:
    record = tx.catalog.schema(tx.namespace, "active")
    return None if record is None else orjson.loads(record.schema.to_text())


async def page_of_documents(tx: Transaction, args: dict[str, Any]) -> dict[str, Any]:
    """One page of a table's documents (values, not yet encoded)."""
    table = args.get("table")
    if not isinstance(table, str) or not table:
        raise BadRequest("`table` must name a table", code="BadRequest")
    system = table in USER_READABLE_SYSTEM_TABLES
    if table.startswith("_") and not system:
        raise BadRequest(f"{table} is not a table the dashboard shows", code="BadRequest")
    query = table_query(
        table,
        args.get("order") or "desc",
        args.get("index") or None,
        args.get("filter") or None,
        args.get("range") or None,
    )
    if tx.table_for_read(table) is None:
        return {"page": [], "isDone": True, "continueCursor": None}
    raw = args.get("paginationOpts") or {}
    if not isinstance(raw, dict):
        raise BadRequest("paginationOpts must be an object", code="InvalidPaginationOptions")
    opts = PaginationOptions.from_json({"numItems": PAGE_SIZE, **raw})
    opts = PaginationOptions(
        num_items=max(1, min(opts.num_items, MAX_PAGE)),
        cursor=opts.cursor,
        end_cursor=opts.end_cursor,
        maximum_rows_read=FILTER_ROWS_READ if query["operators"] else None,
    )
    return await paginate(tx, query, opts, system=system)


async def schedules(tx: Transaction) -> dict[str, Any]:
    jobs: list[Any] = []
    if tx.table_for_read(scheduled_functions.SCHEDULED_FUNCTIONS.name) is not None:
        query = by_index(scheduled_functions.SCHEDULED_FUNCTIONS.name, "by_creation_time", "desc")
        query["operators"] = [{"limit": JOBS_SHOWN}]
        jobs = await tx.query(query, system=True).collect()
    crons: list[Any] = []
    if tx.table_for_read(cron_jobs.CRON_JOBS.name) is not None:
        crons = await tx.query(by_index(cron_jobs.CRON_JOBS.name, "by_name"), system=True).collect()
    return {
        "jobs": [dict(j) for j in jobs],
        "crons": [
            {
                "id": c["_id"],
                "name": c["name"],
                "function": c["function"],
                "args": (c.get("args") or [{}])[0],
                "schedule": c["schedule"],
                "nextRunMs": c.get("nextRunTime"),
                "lastRunMs": c.get("lastRunTime"),
                "lastRun": c.get("lastRun"),
                "running": bool(c.get("running")),
            }
            for c in crons
        ],
    }


def file_path(doc_id: str) -> str | None:
    """Where a `_storage` document's file is served, on the page's own origin."""
    try:
        internal = ids.decode_id(doc_id)[1]
    except BadRequest:
        return None
    return f"/api/storage/{file_storage.uuid_of(internal)}"


# -- the system functions ----------------------------------------------------------------


async def _tables(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    # Read the catalog's own tables so that a new table, index or schema re-runs this.
    root = in_namespace(tx, "")
    for system_table in (TABLES, INDEXES, SCHEMAS):
        scan = {"type": "FullTableScan", "tableName": system_table.name, "order": "asc"}
        await root.query({"source": scan, "operators": []}, system=True).collect()
    return {"tables": table_listing(tx), "schema": active_schema(tx)}


async def _table_counts(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    out: dict[str, float] = {}
    for info in shown_tables(tx):
        index = info.by_creation_time
        # Depend on every document of the table without reading one.
        tx.reads.add(index.id, *compile_range(index, info.name, ()))
        count = await call.counts.count_at(info, tx.begin_ts) if call.counts else 0
        out[info.name] = float(count)
    return out


async def _documents(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    return await page_of_documents(tx, args)


async def _schedules(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    return await schedules(in_namespace(tx, ""))


async def _files(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    result = await page_of_documents(
        tx,
        {
            "table": file_storage.STORAGE.name,
            "order": "desc",
            "paginationOpts": args.get("paginationOpts") or {},
        },
    )
    result["page"] = [{**doc, "url": file_path(doc["_id"])} for doc in result["page"]]
    return result


DASHBOARD_FUNCTIONS = {
    "_system/dashboard/tables.js:default": _tables,
    "_system/dashboard/tableCounts.js:default": _table_counts,
    "_system/dashboard/documents.js:default": _documents,
    "_system/dashboard/schedules.js:default": _schedules,
    "_system/dashboard/files.js:default": _files,
}
