"""The access log: one line per HTTP request, as Convex's backend writes one
(`log_middleware`), on the `bayou.access` logger at INFO.

    GET /api/query 200 3.1ms req=5f0c2a9e41d7b3c8           (text)
    {"msg": "GET /api/query 200 3.1ms", "method": "GET", "path": "/api/query",
     "status": 200, "duration_ms": 3.1, "request_id": "5f0c2a9e41d7b3c8", …}   (LOG_FORMAT=json)

The path is logged without its query string: query parameters carry secrets (upload
tokens, signed storage URLs). Each request gets a request id — the client's
`X-Request-Id` when it sends a plausible one (a proxy's), else a fresh one — which the
response carries back in `X-Request-Id`, so a client report can be matched to its line.
`LOG_LEVEL=warning` turns the lines off (and costs nothing then).
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("bayou.access")
_GIVEN_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


def request_id(scope: Scope) -> str:
    """The client's `X-Request-Id` when it is plausible, else a fresh id."""
    for key, value in scope["headers"]:
        if key.lower() == b"x-request-id" and _GIVEN_ID.match(value):
            return value.decode()
    return secrets.token_hex(8)


def enabled() -> bool:
    return log.isEnabledFor(logging.INFO)


def write_line(method: str, path: str, status: int, started: float, rid: str) -> None:
    """The access line of one finished request (`started`: `time.perf_counter()`)."""
    duration = round((time.perf_counter() - started) * 1000, 1)
    log.info(
        "%s %s %d %.1fms req=%s",
        method,
        path,
        status,
        duration,
        rid,
        extra={
            "fields": {
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration,
                "request_id": rid,
            }
        },
    )


class AccessLogMiddleware:
    """Log each HTTP request once its response is sent (or has failed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not enabled():
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        status = 500  # unless a response starts

        async def logged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            write_line(scope["method"], scope["path"], status, started, rid)
