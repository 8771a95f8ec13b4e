"""System functions (`_system/...`), served natively in Python for the official CLI.

The CLI reads deployment state through the sync protocol by subscribing to queries under
`_system/cli/` (ops-surface.md §3, js-compat.md §4). Each one here is a query over a
read-only transaction, so it records its reads and is reactive like any user query:
`npx convex env list --watch`-style subscriptions update when the data changes. Only
admin identities may call them. Result shapes are the ones the CLI reads (checked against
`convex/dist/cli.bundle.cjs`):

    _system/cli/queryEnvironmentVariables      {}                 [{_id, _creationTime, name, value}] by name
    _system/cli/queryEnvironmentVariables:get  {name}             {name, value} | null
    _system/cli/tables                         {paginationOpts}   {page: [{name}], isDone, continueCursor}
    _system/cli/tableData                      {table, order, paginationOpts}   PaginationResult of documents
    _system/cli/tableSize                      {tableName}        number of documents
    _system/cli/queryTable                     {tableName}        a fresh number whenever the table changes
    _system/cli/modules:apiSpec                {componentId?}     [{identifier, functionType, visibility, args, returns}
                                                                   | {functionType: "HttpAction", method, path}]
    _system/cli/convexUrl:cloudUrl             {}                 the deployment's public URL
    _system/cli/exports:getLatest, queryImport, queryImport:list   (`snapshot_queries.py`)
    _system/dashboard/*                        what the dashboard subscribes to (`dashboard_queries.py`)
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from bayou.database.database import Database
from bayou.database.namespaced import in_namespace
from bayou.database.pagination import PaginationOptions, paginate
from bayou.database.table_counts import TableCounts
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest, BayouError
from bayou.model.deployment import Deployment
from bayou.model.env_vars import ENV_VARS
from bayou.model.system_tables import USER_READABLE_SYSTEM_TABLES
from bayou.protocol.function_path import FunctionPath
from bayou.runner.dashboard_queries import DASHBOARD_FUNCTIONS
from bayou.runner.identity import Identity
from bayou.runner.snapshot_queries import SNAPSHOT_FUNCTIONS
from bayou.values import json as vjson


@dataclass(frozen=True, slots=True)
class SystemCall:
    """What a system function may look at besides its transaction."""

    deployment: Deployment
    cloud_url: str
    counts: TableCounts | None = None  # document counts, kept across calls


Handler = Callable[[Transaction, dict[str, Any], SystemCall], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class SystemResult:
    value: Any
    ts: int
    tx: Transaction


class SystemFunctions:
    """The table of system functions and how to run one."""

    def __init__(self, db: Database, *, cloud_url: str = "") -> None:
        self.db = db
        self.cloud_url = cloud_url
        self.counts = TableCounts(db)

    def lookup(self, path: FunctionPath) -> Handler:
        handler = _FUNCTIONS.get(path.canonical)
        if handler is None:
            known = ", ".join(
                sorted(p.replace(".js:", ":").removesuffix(":default") for p in _FUNCTIONS)
            )
            raise BadRequest(
                f"Unknown system function '{path}'. This Bayou version serves: {known}.",
                code="FunctionNotFound",
            )
        return handler

    def check_caller(self, path: FunctionPath, identity: Identity) -> None:
        if not identity.may_call_internal:
            raise BadRequest(
                f"'{path}' is a system function: only an admin key may call it "
                "(Authorization: Convex <admin key>, or setAdminAuth in a client).",
                code="Unauthorized",
            )

    async def run(
        self,
        path: FunctionPath,
        args: Any,
        identity: Identity,
        deployment: Deployment,
        ts: int | None,
        component: str = "",
    ) -> SystemResult:
        """Run a system query at `ts` (default: latest) over the tables of `component`
        (`npx convex data --component`); BayouError for bad calls."""
        handler = self.lookup(path)
        self.check_caller(path, identity)
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise BadRequest(
                f"Arguments of {path} must be an object", code="ArgumentValidationError"
            )
        if component and component not in deployment.components:
            raise BadRequest(f"Component '{component}' not found", code="ComponentNotFound")
        tx = self.db.begin(read_only=True, ts=ts, namespace=component)
        value = await handler(tx, args, SystemCall(deployment, self.cloud_url, self.counts))
        return SystemResult(value, tx.begin_ts, tx)


# -- the functions -----------------------------------------------------------------------


def _string_arg(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str):
        raise BadRequest(
            f"ArgumentValidationError: `{name}` must be a string", code="ArgumentValidationError"
        )
    return value


def _pagination(args: dict[str, Any]) -> PaginationOptions:
    opts = args.get("paginationOpts")
    if opts is None:
        return PaginationOptions(num_items=10_000, cursor=None)
    return PaginationOptions.from_json(opts)


def _scan(table: str, order: str = "asc", index: str | None = None) -> dict[str, Any]:
    source: dict[str, Any]
    if index is None:
        source = {"type": "FullTableScan", "tableName": table, "order": order}
    else:
        source = {
            "type": "IndexRange",
            "indexName": f"{table}.{index}",
            "range": [],
            "order": order,
        }
    return {"source": source, "operators": []}


async def _env_list(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    docs = await tx.query(_scan(ENV_VARS.name, index="by_name"), system=True).collect()
    return [dict(d) for d in docs]


async def _env_get(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    name = _string_arg(args, "name")
    query = {
        "source": {
            "type": "IndexRange",
            "indexName": f"{ENV_VARS.name}.by_name",
            "range": [{"type": "Eq", "fieldPath": "name", "value": name}],
            "order": "asc",
        },
        "operators": [{"limit": 1}],
    }
    docs = await tx.query(query, system=True).collect()
    return {"name": name, "value": docs[0]["value"]} if docs else None


async def _tables(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    _pagination(args)  # validated; the list is never long enough to page
    # `_tables` is the deployment's: read it from the root namespace.
    docs = await in_namespace(tx, "").query(_scan("_tables"), system=True).collect()
    names = sorted(
        d["name"]
        for d in docs
        if d.get("namespace", "") == tx.namespace and not d["name"].startswith("_")
    )
    return {"page": [{"name": n} for n in names], "isDone": True, "continueCursor": "end"}


async def _table_data(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    table = _string_arg(args, "table")
    order = args.get("order", "asc")
    if order not in ("asc", "desc"):
        raise BadRequest("`order` must be 'asc' or 'desc'", code="ArgumentValidationError")
    system = table in USER_READABLE_SYSTEM_TABLES
    if table.startswith("_") and not system:
        raise BadRequest(
            f"{table} is a system table: `npx convex data` lists the app's own tables "
            f"and {', '.join(sorted(USER_READABLE_SYSTEM_TABLES))}.",
            code="ArgumentValidationError",
        )
    if tx.table_for_read(table) is None:
        return {"page": [], "isDone": True, "continueCursor": "end"}
    return await paginate(tx, _scan(table, order), _pagination(args), system=system)


async def _count(tx: Transaction, table: str) -> int:
    system = table in USER_READABLE_SYSTEM_TABLES
    if (table.startswith("_") and not system) or tx.table_for_read(table) is None:
        return 0
    count = 0
    stream = tx.query(_scan(table), system=system)
    while await stream.next_with_key() is not None:
        count += 1
    return count


async def _table_size(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    return float(await _count(tx, _string_arg(args, "tableName")))


async def _query_table(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    # Convex's own answers a random number: a new result on every change to the table.
    await _count(tx, _string_arg(args, "tableName"))
    return random.random()


async def _api_spec(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    out: list[dict[str, Any]] = []
    for module_path, info in sorted(call.deployment.analysis.items()):
        module = module_path.removesuffix(".js").removesuffix(".py")
        for fn in (info or {}).get("functions") or []:
            if fn.get("udfType") == "HttpAction":
                continue  # served through the routes listed below
            out.append(
                {
                    # Canonical `.js` whatever the language: clients cannot tell them apart.
                    "identifier": FunctionPath(module, fn["name"]).canonical,
                    "functionType": fn.get("udfType"),
                    "visibility": fn.get("visibility") or {"kind": "public"},
                    "args": _validator_value(fn.get("args")),
                    "returns": _validator_value(fn.get("returns")),
                }
            )
        for route in (info or {}).get("httpRoutes") or []:
            spec = route.get("route", route)
            out.append(
                {
                    "functionType": "HttpAction",
                    "method": spec.get("method"),
                    "path": spec.get("path"),
                }
            )
    return out


def _validator_value(text: str | None) -> Any:
    """A validator's JSON text as a Convex value (`{"type": "any"}` when absent)."""
    if text is None:
        return {"type": "any"}
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"type": "any"}
    if parsed is None:
        return {"type": "any"}
    try:
        return vjson.from_json(parsed)
    except BayouError:
        return parsed


async def _cloud_url(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    return call.cloud_url


_FUNCTIONS: dict[str, Handler] = {
    "_system/cli/queryEnvironmentVariables.js:default": _env_list,
    "_system/cli/queryEnvironmentVariables.js:get": _env_get,
    "_system/cli/tables.js:default": _tables,
    "_system/cli/tableData.js:default": _table_data,
    "_system/cli/tableSize.js:default": _table_size,
    "_system/cli/queryTable.js:default": _query_table,
    "_system/cli/modules.js:apiSpec": _api_spec,
    "_system/cli/convexUrl.js:cloudUrl": _cloud_url,
    **SNAPSHOT_FUNCTIONS,
    **DASHBOARD_FUNCTIONS,
}
