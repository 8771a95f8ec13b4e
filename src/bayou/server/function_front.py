"""The hot path: `POST /api/query`, `/api/mutation` and `/api/action` without the router.

These three routes carry nearly all of a deployment's HTTP traffic, and on them Starlette's
router and the middleware stack around it (access log, CORS, errors, user tokens, and
Starlette's own two exception layers) cost about a tenth of the core's CPU per call in
issue 15's profile. `FunctionFront` sits outside that stack and answers these three itself,
with the same behaviour, built from the same pieces: the bearer token verified before the
call, the route's own handler, a `BayouError` as its `{code, message}` and anything else
hidden behind a 500, CORS headers when the request has an `Origin`, and the access line
with `X-Request-Id`. Every other request — preflights included — goes to the full app.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from bayou.backend import Backend
from bayou.runner.calls import Kind
from bayou.server import access_log
from bayou.server.auth import verify_bearer
from bayou.server.function_routes import FunctionApi
from bayou.server.middleware import cors_headers, failure_response

FAST_PATHS: dict[str, Kind] = {
    "/api/query": "query",
    "/api/mutation": "mutation",
    "/api/action": "action",
}


class FunctionFront:
    """An ASGI app: the function API's three hot routes, else `app`."""

    def __init__(self, app: ASGIApp, backend: Backend, api: FunctionApi) -> None:
        self.app = app
        self.backend = backend
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            kind = FAST_PATHS.get(scope["path"])
            if kind is not None:
                await self._call(scope, receive, send, kind)
                return
        await self.app(scope, receive, send)

    async def _call(self, scope: Scope, receive: Receive, send: Send, kind: Kind) -> None:
        logged = access_log.enabled()
        if logged:
            started = time.perf_counter()
            rid = access_log.request_id(scope)
        origin = authorization = None
        for name, value in scope["headers"]:
            lowered = name.lower()
            if lowered == b"origin":
                origin = value
            elif lowered == b"authorization":
                authorization = value
        status = 500
        try:
            try:
                if authorization is not None:
                    await verify_bearer(self.backend, scope, authorization.decode("latin-1"))
                response = await self.api.handle(Request(scope, receive), kind)
            except Exception as e:
                response = failure_response(e, scope)
            status = response.status_code
            headers = response.raw_headers
            if origin is not None:
                headers = [*headers, *cors_headers(origin)]
            if logged:
                headers = [*headers, (b"x-request-id", rid.encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": response.body})
        finally:
            if logged:
                access_log.write_line(scope["method"], scope["path"], status, started, rid)
