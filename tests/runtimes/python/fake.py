"""An in-memory stand-in for the core's syscall handlers, for tests of the Python runtime.

`FakeBackend` holds tables of documents and the indexes of an analyzed schema; its
`handler(kind)` answers the syscalls of one call the way the core does (JSON in, JSON
out) and records every `(op, args)` so tests can check the exact JSON user code sent.
Nested calls (`1.0/runUdf`, `1.0/actions/*`) invoke the runtime again, which is what
exercises its re-entrancy. Writes apply immediately: there are no transactions here.
"""

from __future__ import annotations

import inspect
import itertools
import math
import time
from collections.abc import Callable
from typing import Any

import orjson

from bayou.errors import BadRequest
from bayou.runner.function_runner import NestedCallFailed
from bayou.runtimes.base import Invocation, InvocationResult, Runtime
from bayou.values import UNDEFINED, sort_key
from bayou.values import json as vjson
from bayou.values.ids import decode_id, encode_id, new_internal_id


def _field(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return UNDEFINED
        value = value[part]
    return value


def evaluate(expr: Any, doc: dict[str, Any]) -> Any:
    """A filter expression's value for `doc` (enough of Convex's semantics for tests)."""
    ((op, arg),) = expr.items()
    if op == "$field":
        return _field(doc, arg)
    if op == "$literal":
        return vjson.from_json(arg, undefined=True)
    if op in ("$and", "$or"):
        values = [evaluate(e, doc) for e in arg]
        return all(values) if op == "$and" else any(values)
    if op == "$not":
        return not evaluate(arg, doc)
    if op == "$neg":
        return -evaluate(arg, doc)
    left, right = (evaluate(e, doc) for e in arg)
    if op in ("$add", "$sub", "$mul", "$div", "$mod"):
        fn = {
            "$add": lambda a, b: a + b,
            "$sub": lambda a, b: a - b,
            "$mul": lambda a, b: a * b,
            "$div": lambda a, b: a / b,
            "$mod": math.fmod,
        }[op]
        return fn(left, right)
    c = sort_key.compare(left, right)
    return {
        "$eq": c == 0,
        "$neq": c != 0,
        "$lt": c < 0,
        "$lte": c <= 0,
        "$gt": c > 0,
        "$gte": c >= 0,
    }[op]


class FakeBackend:
    """Tables, indexes and the syscall handlers over them."""

    def __init__(self, runtime: Runtime, version: str, schema: dict[str, Any] | None) -> None:
        self.runtime = runtime
        self.version = version
        self.tables: dict[str, int] = {}
        self.docs: dict[str, dict[str, Any]] = {}
        self.indexes: dict[str, list[str]] = {}
        self.log: list[tuple[str, Any]] = []
        self.identity: dict[str, Any] | None = None
        self.env: dict[str, str] = {}
        self.seed = 1234
        self.now_ms = 1_700_000_000_000.0
        self._clock = itertools.count()
        for table in (schema or {}).get("tables", []):
            self.table_number(table["tableName"])
            for index in table["indexes"]:
                self.indexes[f"{table['tableName']}.{index['indexDescriptor']}"] = index["fields"]

    def table_number(self, name: str) -> int:
        if name not in self.tables:
            self.tables[name] = 10001 + len(self.tables)
        return self.tables[name]

    def table_of(self, id: str) -> str | None:
        number, _ = decode_id(id)
        return next((t for t, n in self.tables.items() if n == number), None)

    def add(self, table: str, fields: dict[str, Any]) -> str:
        """Insert a document directly (test set-up)."""
        id = encode_id(self.table_number(table), new_internal_id())
        self.docs[id] = {
            **fields,
            "_id": id,
            "_creationTime": 1_700_000_000_000.0 + next(self._clock),
        }
        return id

    def handler(self, kind: str = "query") -> FakeHandler:
        return FakeHandler(self, kind)

    def invocation(
        self, kind: str, path: str, args: Any = None, *, timeout_s: float | None = None
    ) -> Invocation:
        limit = timeout_s if timeout_s is not None else (600.0 if kind == "action" else 1.0)
        return Invocation(
            version=self.version,
            udf_type=kind,  # type: ignore[arg-type]
            path=path,
            args_json="[" + vjson.dumps(vjson.from_json(args or {})).decode() + "]",
            env=dict(self.env),
            seed=self.seed,
            now_ms=self.now_ms,
            table_numbers=dict(self.tables),
            request_id="req-1",
            timeout_s=limit,
        )

    async def call(
        self, kind: str, path: str, args: Any = None, *, timeout_s: float | None = None
    ) -> InvocationResult:
        """Invoke a function with a fresh handler."""
        return await self.runtime.invoke(
            self.invocation(kind, path, args, timeout_s=timeout_s), self.handler(kind)
        )

    async def value(self, kind: str, path: str, args: Any = None) -> Any:
        """The decoded result of a call that must succeed."""
        result = await self.call(kind, path, args)
        assert result.ok, result.error_message
        return vjson.loads(result.value_json or "null")

    # -- queries -----------------------------------------------------------------------

    def run_query(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        source = query["source"]
        if source["type"] == "FullTableScan":
            table, fields = source["tableName"], []
            docs = [d for d in self.docs.values() if self.table_of(d["_id"]) == table]
        elif source["type"] == "IndexRange":
            name = source["indexName"]
            if name not in self.indexes:
                raise BadRequest(f"Index {name} not found.", code="IndexNotFound")
            table, fields = name.split(".")[0], self.indexes[name]
            docs = [
                d
                for d in self.docs.values()
                if self.table_of(d["_id"]) == table and self._in_range(d, source["range"])
            ]
        else:
            table = source["indexName"].split(".")[0]
            (search,) = [f for f in source["filters"] if f["type"] == "Search"]
            words = search["value"].lower().split()
            docs = [
                d
                for d in self.docs.values()
                if self.table_of(d["_id"]) == table
                and any(w in str(_field(d, search["fieldPath"])).lower() for w in words)
            ]
            fields = []

        def key(doc: dict[str, Any]) -> bytes:
            values = [_field(doc, f) for f in fields]
            return sort_key.encode_values([*values, doc["_creationTime"], doc["_id"]])

        docs.sort(key=key, reverse=source.get("order") == "desc")
        out = docs
        for operator in query["operators"]:
            if "filter" in operator:
                out = [d for d in out if evaluate(operator["filter"], d) is True]
            else:
                out = out[: int(operator["limit"])]
        return out

    def _in_range(self, doc: dict[str, Any], range_: list[dict[str, Any]]) -> bool:
        for bound in range_:
            c = sort_key.compare(
                _field(doc, bound["fieldPath"]), vjson.from_json(bound["value"], undefined=True)
            )
            ok = {
                "Eq": c == 0,
                "Gt": c > 0,
                "Gte": c >= 0,
                "Lt": c < 0,
                "Lte": c <= 0,
            }[bound["type"]]
            if not ok:
                return False
        return True


class FakeHandler:
    """The syscall handler of one call."""

    def __init__(self, backend: FakeBackend, kind: str) -> None:
        self.backend = backend
        self.kind = kind
        self.streams: dict[Any, list[dict[str, Any]]] = {}
        self.cleaned: list[Any] = []
        self.hook: Callable[[str, Any], Any] | None = None

    @staticmethod
    def _doc(doc: dict[str, Any] | None) -> Any:
        return None if doc is None else vjson.to_json(doc)

    async def async_syscall(self, op: str, args: Any) -> Any:
        backend = self.backend
        backend.log.append((op, orjson.loads(orjson.dumps(args))))
        if self.hook is not None:
            hooked = self.hook(op, args)
            if inspect.isawaitable(hooked):
                hooked = await hooked
            if hooked is not None:
                return hooked
        method = getattr(self, "op_" + op.replace("1.0/", "").replace("/", "_"), None)
        if method is None:
            raise BadRequest(f"{op} is not supported by this version of Bayou yet")
        return await method(args)

    # -- documents ---------------------------------------------------------------------

    async def op_get(self, args: dict[str, Any]) -> Any:
        return self._doc(self.backend.docs.get(args["id"]))

    async def op_insert(self, args: dict[str, Any]) -> Any:
        return {"_id": self.backend.add(args["table"], vjson.from_json(args["value"]))}

    def _existing(self, id: str) -> dict[str, Any]:
        doc = self.backend.docs.get(id)
        if doc is None:
            raise BadRequest(f"Update on nonexistent document ID {id}")
        return doc

    async def op_shallowMerge(self, args: dict[str, Any]) -> Any:
        doc = self._existing(args["id"])
        for k, value in vjson.from_json(args["value"], undefined=True).items():  # type: ignore[union-attr]
            if value is UNDEFINED:
                doc.pop(k, None)
            else:
                doc[k] = value
        return self._doc(doc)

    async def op_replace(self, args: dict[str, Any]) -> Any:
        doc = self._existing(args["id"])
        system = {k: doc[k] for k in ("_id", "_creationTime")}
        doc.clear()
        doc.update(vjson.from_json(args["value"]))  # type: ignore[arg-type]
        doc.update(system)
        return self._doc(doc)

    async def op_remove(self, args: dict[str, Any]) -> Any:
        return self._doc(self.backend.docs.pop(self._existing(args["id"])["_id"]))

    # -- queries -----------------------------------------------------------------------

    def _stream(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        if args["queryId"] not in self.streams:
            self.streams[args["queryId"]] = list(self.backend.run_query(args["query"]))
        return self.streams[args["queryId"]]

    async def op_queryStreamNext(self, args: dict[str, Any]) -> Any:
        stream = self._stream(args)
        if not stream:
            return {"value": None, "done": True}
        return {"value": self._doc(stream.pop(0)), "done": False}

    async def op_bayou_queryStreamBatch(self, args: dict[str, Any]) -> Any:
        stream = self._stream(args)
        taken, stream[:] = stream[: int(args["max"])], stream[int(args["max"]) :]
        return {"values": [self._doc(d) for d in taken], "done": not stream}

    async def op_queryCleanup(self, args: dict[str, Any]) -> Any:
        self.cleaned.append(args["queryId"])
        self.streams.pop(args["queryId"], None)
        return True

    async def op_queryPage(self, args: dict[str, Any]) -> Any:
        docs = self.backend.run_query(args["query"])
        start = int(args["cursor"] or 0)
        size = int(args["pageSize"])
        page = docs[start : start + size]
        end = start + len(page)
        done = end >= len(docs)
        return {
            "page": [self._doc(d) for d in page],
            "isDone": done,
            "continueCursor": "_end" if done else str(end),
            "splitCursor": None,
            "pageStatus": None,
        }

    # -- other -------------------------------------------------------------------------

    async def op_getUserIdentity(self, args: dict[str, Any]) -> Any:
        return self.backend.identity

    async def op_schedule(self, args: dict[str, Any]) -> Any:
        return self.backend.add("_scheduled_functions", {"name": args["name"]})

    async def _nested(self, kind: str, args: dict[str, Any], handler: FakeHandler) -> Any:
        backend = self.backend
        call = backend.invocation(kind, args["name"], vjson.from_json(args["args"]))
        result = await backend.runtime.invoke(call, handler)
        if not result.ok:
            raise NestedCallFailed(result.error_message or "Uncaught Error", result.error_data_json)
        return orjson.Fragment(result.value_json or "null")

    async def op_runUdf(self, args: dict[str, Any]) -> Any:
        # Queries and mutations run nested calls in their own transaction: same handler.
        return await self._nested(args["udfType"], args, self)

    async def op_actions_query(self, args: dict[str, Any]) -> Any:
        return await self._nested("query", args, self.backend.handler("query"))

    async def op_actions_mutation(self, args: dict[str, Any]) -> Any:
        return await self._nested("mutation", args, self.backend.handler("mutation"))

    async def op_actions_action(self, args: dict[str, Any]) -> Any:
        return await self._nested("action", args, self.backend.handler("action"))

    async def op_actions_cancel_job(self, args: dict[str, Any]) -> Any:
        return None

    async def op_actions_schedule(self, args: dict[str, Any]) -> Any:
        return self.backend.add("_scheduled_functions", {"name": args["name"], "at": time.time()})
