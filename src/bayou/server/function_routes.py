"""The HTTP function API: `/api/query`, `/api/mutation`, `/api/action`, `/api/function`,
`/api/run/{path}`, `/api/query_batch`, `/api/query_ts`, `/api/query_at_ts`
(wire-protocol.md §1).

A function that ran — returned or threw — answers 200 with `{"status": "success" |
"error", …}`; only requests that could not run a function get a non-2xx `{code, message}`.

An action whose HTTP client disconnects is stopped, as Convex stops it (`ClientDisconnected`):
nobody is left to read its result, and it would otherwise run on for up to its time limit.
Queries and mutations are left to finish: they are short, and a mutation that started
commits or fails on its own.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bayou.backend import Backend
from bayou.errors import BadRequest
from bayou.protocol.function_path import FunctionPath
from bayou.runner.function_runner import CallRequest, CallResult, Kind
from bayou.server.auth import request_identity, require_admin
from bayou.server.http import json_response, origin_of, read_json, unless_disconnected
from bayou.values import json as vjson

CLEAN_DEFAULT = "json"


def encode_ts(ts: int) -> str:
    """A timestamp as the sync protocol and `/api/query_ts` write it: base64 of u64 LE."""
    return base64.b64encode(struct.pack("<Q", ts)).decode()


def decode_ts(text: Any) -> int:
    try:
        raw = base64.b64decode(text, validate=False)
        if len(raw) != 8:
            raise ValueError
        return struct.unpack("<Q", raw)[0]
    except (ValueError, TypeError):
        raise BadRequest(
            f"Invalid timestamp {text!r}: expected base64 of 8 bytes", code="InvalidTimestamp"
        ) from None


def parse_args(raw: Any) -> Any:
    """`args` as an object or as the legacy one-element array, Convex-encoded either way."""
    if isinstance(raw, list):
        if len(raw) != 1:
            raise BadRequest(
                "args must be an object (or an array holding one object)", code="BadJsonBody"
            )
        raw = raw[0]
    if raw is None:
        raw = {}
    value = vjson.from_json(raw)
    if not isinstance(value, dict):
        raise BadRequest("args must be an object", code="BadJsonBody")
    return value


def _format(body: dict[str, Any], default: str) -> str:
    fmt = body.get("format") or default
    if not isinstance(fmt, str):
        raise BadRequest("format must be a string", code="BadFormat")
    vjson.encode_for_format(None, fmt)  # raises BadFormat for unknown names
    return fmt


def udf_response(result: CallResult, fmt: str, *, redact: bool) -> dict[str, Any]:
    out: dict[str, Any]
    if result.ok:
        out = {"status": "success", "value": vjson.encode_for_format(result.value, fmt)}
    else:
        out = {"status": "error", "errorMessage": result.client_error(redact=redact)}
        if result.has_error_data:
            out["errorData"] = vjson.encode_for_format(result.error_data, fmt)
    if result.log_lines and not redact:
        out["logLines"] = result.log_texts
    return out


class FunctionApi:
    """Route handlers bound to one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @property
    def redact(self) -> bool:
        return self.backend.settings.redact_logs_to_client

    async def _run(self, request: Request, kind: Kind | None, *, admin: bool = False) -> Response:
        identity = request_identity(self.backend, request)
        if admin:
            require_admin(identity)
        body = await read_json(request)
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object", code="BadJsonBody")
        fmt = _format(body, CLEAN_DEFAULT)
        path = FunctionPath.parse(body.get("path"))
        component = body.get("componentPath") or ""
        if not isinstance(component, str):
            raise BadRequest("`componentPath` must be a string", code="BadJsonBody")
        result = await self._call(
            path, parse_args(body.get("args")), kind, identity, request, component=component
        )
        return self._answer(result, fmt)

    def _answer(self, result: CallResult, fmt: str) -> Response:
        if result.refused is not None:
            raise result.refused  # it never ran: 429 TooManyConcurrentRequests, as Convex
        return json_response(udf_response(result, fmt, redact=self.redact))

    async def _call(
        self, path, args, kind, identity, request, ts: int | None = None, component: str = ""
    ) -> CallResult:
        assert self.backend.runner is not None
        call = self.backend.runner.call(
            CallRequest(
                path,
                args,
                kind,
                identity,
                request.headers.get("convex-request-id", ""),
                ts=ts,
                caller="HttpApi",
                origin=origin_of(request.scope),
                component=component,
            )
        )
        if not self._is_action(path, kind, component):
            return await call
        return await unless_disconnected(call, request, f"action {path}")

    def _is_action(self, path: FunctionPath, kind: Kind | None, component: str = "") -> bool:
        if kind is not None:
            return kind == "action"
        code = self.backend.deployment.code(component)
        spec = code.function(path) if code is not None else None
        return spec is not None and spec.udf_type == "action"

    async def handle(self, request: Request, kind: Kind) -> Response:
        """`/api/query`, `/api/mutation` or `/api/action` (`bayou.server.function_front`)."""
        return await self._run(request, kind)

    async def query(self, request: Request) -> Response:
        return await self._run(request, "query")

    async def mutation(self, request: Request) -> Response:
        return await self._run(request, "mutation")

    async def action(self, request: Request) -> Response:
        return await self._run(request, "action")

    async def function(self, request: Request) -> Response:
        return await self._run(request, None, admin=True)

    async def run(self, request: Request) -> Response:
        """`POST /api/run/a/b/fn` → function `a/b:fn`, clean JSON by default."""
        segments = [s for s in request.path_params["path"].split("/") if s]
        if len(segments) < 2:
            raise BadRequest(
                "The path must name a module and a function: /api/run/<module>/<function>",
                code="MissingIdentifier",
            )
        path = FunctionPath.parse("/".join(segments[:-1]) + ":" + segments[-1])
        identity = request_identity(self.backend, request)
        body = await read_json(request)
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object", code="BadJsonBody")
        fmt = _format(body, CLEAN_DEFAULT)
        result = await self._call(path, parse_args(body.get("args")), None, identity, request)
        return self._answer(result, fmt)

    async def query_ts(self, request: Request) -> Response:
        assert self.backend.db is not None
        return json_response({"ts": encode_ts(self.backend.db.latest_ts)})

    async def query_at_ts(self, request: Request) -> Response:
        identity = request_identity(self.backend, request)
        body = await read_json(request)
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object", code="BadJsonBody")
        fmt = _format(body, CLEAN_DEFAULT)
        ts = decode_ts(body.get("ts"))
        path = FunctionPath.parse(body.get("path"))
        result = await self._call(
            path, parse_args(body.get("args")), "query", identity, request, ts=ts
        )
        return self._answer(result, fmt)

    async def query_batch(self, request: Request) -> Response:
        """Several queries at one timestamp; `{"results": [UdfResponse, …]}`."""
        identity = request_identity(self.backend, request)
        body = await read_json(request)
        queries = body.get("queries") if isinstance(body, dict) else None
        if not isinstance(queries, list):
            raise BadRequest('The body must be {"queries": [...]}', code="BadJsonBody")
        assert self.backend.db is not None
        ts = self.backend.db.latest_ts
        results = []
        for q in queries:
            if not isinstance(q, dict):
                raise BadRequest("Each query must be an object", code="BadJsonBody")
            fmt = _format(q, CLEAN_DEFAULT)
            path = FunctionPath.parse(q.get("path"))
            result = await self._call(
                path, parse_args(q.get("args")), "query", identity, request, ts=ts
            )
            results.append(udf_response(result, fmt, redact=self.redact))
        return json_response({"results": results})


def routes(backend: Backend, api: FunctionApi | None = None) -> list[Route]:
    api = api or FunctionApi(backend)
    return [
        Route("/api/query", api.query, methods=["POST"]),
        Route("/api/mutation", api.mutation, methods=["POST"]),
        Route("/api/action", api.action, methods=["POST"]),
        Route("/api/function", api.function, methods=["POST"]),
        Route("/api/run/{path:path}", api.run, methods=["POST"]),
        Route("/api/query_ts", api.query_ts, methods=["POST"]),
        Route("/api/query_at_ts", api.query_at_ts, methods=["POST"]),
        Route("/api/query_batch", api.query_batch, methods=["POST"]),
    ]
