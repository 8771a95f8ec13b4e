"""An in-process runtime whose functions are Python coroutines over the syscall ABI.

The sync layer's unit tests need functions that read, write, log, look at the caller and
the environment, throw, and block on demand — without depending on a language runtime
that is developed elsewhere. Functions here call the same syscalls (`1.0/insert`,
`1.0/queryStreamNext`, `1.0/queryPage`, `1.0/getUserIdentity` …) with the same JSON
shapes as the JS and Python runtimes, so everything from the runner down is real.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from bayou.errors import ConvexError
from bayou.model.deployment import Deployment
from bayou.runtimes.base import Invocation, InvocationResult, RuntimeModule
from bayou.values import json as vjson

Kind = Literal["query", "mutation", "action"]


class Ctx:
    """What a fake function receives: syscalls as methods, logs, env, the runner call."""

    def __init__(self, syscalls: Any, call: Invocation) -> None:
        self._syscalls = syscalls
        self.call = call
        self.env = call.env
        self.logs: list[dict[str, Any]] = []
        self._query_ids = itertools.count()
        # A mutation's reads the core made ahead, used as the real runtimes use
        # them (exactly these syscalls, in order, before anything else; cleanups aside).
        self._read_ahead = call.read_ahead
        self.answered_ahead = 0

    async def _sys(self, op: str, args: dict[str, Any]) -> Any:
        ahead = self._read_ahead
        if ahead is not None and op != "1.0/queryCleanup":
            at = self.answered_ahead
            if at < len(ahead) and ahead[at][0] == op and _plain(ahead[at][1]) == _plain(args):
                self.answered_ahead += 1
                return _plain(ahead[at][2])
            self._read_ahead = None
        return _plain(await self._syscalls.async_syscall(op, args))

    def log(self, *messages: Any, level: str = "LOG") -> None:
        self.logs.append(
            {
                "level": level,
                "messages": [m if isinstance(m, str) else repr(m) for m in messages],
                "timestamp": time.time() * 1000,
                "isTruncated": False,
            }
        )

    async def insert(self, table: str, value: dict[str, Any]) -> str:
        out = await self._sys("1.0/insert", {"table": table, "value": vjson.to_json(value)})
        return out["_id"]

    async def get(self, id: str) -> Any:
        return vjson.from_json(await self._sys("1.0/get", {"id": id}))

    async def patch(self, id: str, fields: dict[str, Any]) -> None:
        await self._sys("1.0/shallowMerge", {"id": id, "value": vjson.to_json(fields)})

    async def delete(self, id: str) -> None:
        await self._sys("1.0/remove", {"id": id})

    async def collect(self, table: str, *, index: str | None = None, order: str = "asc") -> list:
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
        query = {"source": source, "operators": []}
        query_id = next(self._query_ids)
        out = []
        first = True
        while True:
            args: dict[str, Any] = {"queryId": query_id}
            if first:
                args["query"] = query
                first = False
            item = await self._sys("1.0/queryStreamNext", args)
            if item["done"]:
                break
            out.append(vjson.from_json(item["value"]))
        await self._sys("1.0/queryCleanup", {"queryId": query_id})
        return out

    async def paginate(
        self, table: str, opts: dict[str, Any], *, index: str | None = None
    ) -> dict[str, Any]:
        if index is None:
            source = {"type": "FullTableScan", "tableName": table, "order": "asc"}
        else:
            source = {
                "type": "IndexRange",
                "indexName": f"{table}.{index}",
                "range": [],
                "order": "asc",
            }
        result = await self._sys(
            "1.0/queryPage",
            {
                "query": {"source": source, "operators": []},
                "cursor": opts.get("cursor"),
                "pageSize": opts["numItems"],
                "endCursor": opts.get("endCursor"),
            },
        )
        result["page"] = [vjson.from_json(d) for d in result["page"]]
        return {k: v for k, v in result.items() if v is not None}

    async def identity(self) -> Any:
        return await self._sys("1.0/getUserIdentity", {})

    async def run_mutation(self, name: str, args: dict[str, Any]) -> Any:
        return vjson.from_json(
            await self._sys("1.0/actions/mutation", {"name": name, "args": vjson.to_json(args)})
        )


Handler = Callable[[Ctx, dict[str, Any]], Awaitable[Any]]


@dataclass
class FakeFunction:
    kind: Kind
    handler: Handler
    visibility: Literal["public", "internal"] = "public"


@dataclass
class FakeApp:
    """Functions by `module:name`; `deployment()` is what a push of them would activate."""

    functions: dict[str, FakeFunction] = field(default_factory=dict)
    version: str = "v1"

    def query(self, name: str, *, visibility: str = "public"):
        return self._register(name, "query", visibility)

    def mutation(self, name: str, *, visibility: str = "public"):
        return self._register(name, "mutation", visibility)

    def action(self, name: str, *, visibility: str = "public"):
        return self._register(name, "action", visibility)

    def _register(self, name: str, kind: Kind, visibility: str):
        def decorator(fn: Handler) -> Handler:
            self.functions[name] = FakeFunction(kind, fn, visibility)  # type: ignore[arg-type]
            return fn

        return decorator

    def deployment(self) -> Deployment:
        analysis: dict[str, Any] = {}
        for name, fn in self.functions.items():
            module, export = name.split(":")
            analysis.setdefault(f"{module}.js", {"functions": []})["functions"].append(
                {
                    "name": export,
                    "udfType": fn.kind.capitalize(),
                    "visibility": {"kind": fn.visibility},
                    "args": None,
                    "returns": None,
                }
            )
        deployment = Deployment.build([], analysis, language="js")
        # Distinct versions, so that activating a new app counts as new code.
        return Deployment(
            version=self.version,
            language="js",
            analysis=deployment.analysis,
            functions=deployment.functions,
        )


class FakeRuntime:
    """The `Runtime` protocol over whichever `FakeApp` is current."""

    def __init__(self, app: FakeApp) -> None:
        self.apps: dict[str, FakeApp] = {app.version: app}
        self.invocations: list[str] = []
        self.answered_ahead: list[int] = []  # per invocation: syscalls answered ahead

    def install(self, app: FakeApp) -> None:
        self.apps[app.version] = app

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def load(self, version: str, modules: list[RuntimeModule]) -> None:
        pass

    async def analyze(self, version: str) -> Any:
        return {}

    async def invoke(self, call: Invocation, syscalls: Any) -> InvocationResult:
        module, export = call.path.split(":")
        fn = self.apps[call.version].functions[f"{module.removesuffix('.js')}:{export}"]
        self.invocations.append(call.path)
        ctx = Ctx(syscalls, call)
        args = vjson.from_json(orjson.loads(call.args_json)[0])
        try:
            try:
                value = await fn.handler(ctx, args)
            finally:
                self.answered_ahead.append(ctx.answered_ahead)
        except ConvexError as e:
            data = e.data
            text = data if isinstance(data, str) else orjson.dumps(vjson.to_json(data)).decode()
            return InvocationResult(
                ok=False,
                error_message=f"Uncaught ConvexError: {text}",
                error_data_json=vjson.dumps(data).decode(),
                log_lines=ctx.logs,
            )
        except Exception as e:
            return InvocationResult(
                ok=False,
                error_message=f"Uncaught Error: {getattr(e, 'message', None) or e}",
                log_lines=ctx.logs,
            )
        return InvocationResult(
            ok=True,
            value_json=vjson.dumps(value).decode(),
            log_lines=ctx.logs,
            read_ahead_used=ctx.answered_ahead,
        )


def _plain(value: Any) -> Any:
    """Syscall results may hold `orjson.Fragment`s of stored JSON: make them plain JSON."""
    return orjson.loads(orjson.dumps(value))
