"""An in-memory stand-in for the core's syscall handler: just enough of Convex's syscalls
(get, insert, shallowMerge, replace, remove, queryStreamNext with index-equality ranges and
simple filters, getUserIdentity, nested calls) to check the JS runtime's round trips."""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

from bayou.errors import ConvexError
from bayou.runtimes.js import Invocation, JsRuntime
from bayou.values.ids import decode_id, encode_id

TABLES = {"messages": 10001, "counters": 10002}
APP_VERSION = "app"


class FakeDb:
    """Tables of documents plus a log of the syscalls it answered."""

    def __init__(self, runtime: JsRuntime | None = None, version: str = "app") -> None:
        self.runtime = runtime
        self.version = version
        self.docs: dict[str, dict[str, Any]] = {}
        self.ops: list[tuple[str, Any]] = []
        self.streams: dict[int, list[dict[str, Any]]] = {}
        self.clock = itertools.count(1)

    # --- documents ----------------------------------------------------------------------

    def add(self, table: str, **fields: Any) -> str:
        doc_id = encode_id(TABLES[table], os.urandom(16))
        self.docs[doc_id] = {"_id": doc_id, "_creationTime": float(next(self.clock)), **fields}
        return doc_id

    def table_of(self, doc_id: str) -> str:
        number = decode_id(doc_id)[0]
        return next(name for name, n in TABLES.items() if n == number)

    def in_table(self, table: str) -> list[dict[str, Any]]:
        return [d for d in self.docs.values() if self.table_of(d["_id"]) == table]

    # --- queries ------------------------------------------------------------------------

    def run_query(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        source = query["source"]
        if source["type"] == "FullTableScan":
            rows = self.in_table(source["tableName"])
        else:
            table = source["indexName"].split(".")[0]
            rows = self.in_table(table)
            for bound in source["range"]:
                assert bound["type"] == "Eq", bound
                rows = [r for r in rows if r.get(bound["fieldPath"]) == bound["value"]]
        rows.sort(key=lambda r: r["_creationTime"], reverse=source.get("order") == "desc")
        for operator in query["operators"]:
            if "filter" in operator:
                rows = [r for r in rows if evaluate(operator["filter"], r)]
            elif "limit" in operator:
                rows = rows[: int(operator["limit"])]
        return rows

    # --- the handler --------------------------------------------------------------------

    async def async_syscall(self, op: str, args: Any) -> Any:
        self.ops.append((op, args))
        handler = getattr(self, "op_" + op.replace("1.0/", "").replace("/", "_"), None)
        if handler is None:
            raise RuntimeError(f"FakeDb does not implement {op}")
        return await handler(args)

    async def op_get(self, args: dict[str, Any]) -> Any:
        return self.docs.get(args["id"])

    async def op_insert(self, args: dict[str, Any]) -> Any:
        doc_id = self.add(args["table"], **args["value"])
        return {"_id": doc_id}

    async def op_shallowMerge(self, args: dict[str, Any]) -> Any:
        doc = self.docs[args["id"]]
        for key, value in args["value"].items():
            if value == {"$undefined": None}:
                doc.pop(key, None)
            else:
                doc[key] = value
        return doc

    async def op_replace(self, args: dict[str, Any]) -> Any:
        old = self.docs[args["id"]]
        self.docs[args["id"]] = {
            "_id": old["_id"],
            "_creationTime": old["_creationTime"],
            **args["value"],
        }
        return self.docs[args["id"]]

    async def op_remove(self, args: dict[str, Any]) -> Any:
        return self.docs.pop(args["id"])

    async def op_queryStreamNext(self, args: dict[str, Any]) -> Any:
        query_id = args["queryId"]
        if "query" in args:
            self.streams[query_id] = self.run_query(args["query"])
        rows = self.streams[query_id]
        if not rows:
            return {"value": None, "done": True}
        return {"value": rows.pop(0), "done": False}

    async def op_bayou_queryStreamBatch(self, args: dict[str, Any]) -> Any:
        query_id = args["queryId"]
        if "query" in args:
            self.streams[query_id] = self.run_query(args["query"])
        rows = self.streams[query_id]
        values, rows[:] = rows[: args["max"]], rows[args["max"] :]
        return {"values": values, "done": not rows}

    async def op_queryCleanup(self, args: dict[str, Any]) -> Any:
        self.streams.pop(args["queryId"], None)
        return True

    async def op_getUserIdentity(self, args: dict[str, Any]) -> Any:
        return None

    async def nested(self, udf_type: str, args: dict[str, Any]) -> Any:
        assert self.runtime is not None
        module, _, name = args["name"].partition(":")
        call = Invocation(
            version=self.version,
            udf_type=udf_type,  # type: ignore[arg-type]
            path=f"{module}.js:{name or 'default'}",
            args_json=json.dumps([args["args"]]),
            table_numbers=TABLES,
        )
        result = await self.runtime.invoke(call, self)
        if not result.ok:
            error = ConvexError(None)
            error.message = result.error_message  # type: ignore[attr-defined]
            if result.error_data_json is not None:
                error.data_json = result.error_data_json  # type: ignore[attr-defined]
                raise error
            raise RuntimeError(result.error_message)
        return json.loads(result.value_json or "null")

    async def op_actions_query(self, args: dict[str, Any]) -> Any:
        return await self.nested("query", args)

    async def op_actions_mutation(self, args: dict[str, Any]) -> Any:
        return await self.nested("mutation", args)

    async def op_runUdf(self, args: dict[str, Any]) -> Any:
        return await self.nested(args["udfType"], args)


def evaluate(expr: Any, doc: dict[str, Any]) -> Any:
    """A few of Convex's filter expressions (enough for the test app)."""
    if "$field" in expr:
        return doc.get(expr["$field"])
    if "$literal" in expr:
        return expr["$literal"]
    ((op, operands),) = expr.items()
    values = [evaluate(o, doc) for o in operands]
    comparisons = {
        "$eq": lambda a, b: a == b,
        "$gte": lambda a, b: a is not None and a >= b,
        "$lt": lambda a, b: a is not None and a < b,
    }
    return comparisons[op](*values)


def invocation(path: str, args: dict[str, Any] | None = None, **overrides: Any) -> Invocation:
    """An Invocation of the test app (udf type from the module: actions in actions.js)."""
    module = path.split(":")[0]
    udf_type = "action" if module in ("actions.js", "nodeActions.js") else "query"
    fields: dict[str, Any] = {
        "version": APP_VERSION,
        "udf_type": udf_type,
        "path": path,
        "args_json": json.dumps([args or {}]),
        "env": {"GREETING": "hello"},
        "seed": 42,
        "now_ms": 1_700_000_000_000.0,
        "table_numbers": TABLES,
        "request_id": "req-1",
    }
    fields.update(overrides)
    return Invocation(**fields)
