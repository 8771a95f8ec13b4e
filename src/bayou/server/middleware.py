"""Pure-ASGI middleware: errors as `{code, message}`, and CORS as Convex's backend does it
(mirror the Origin with credentials, allow the requested headers, a day of preflight)."""

from __future__ import annotations

import logging

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bayou.errors import BayouError, InternalError
from bayou.server.http import error_response

log = logging.getLogger("bayou.server")

CORS_METHODS = "GET, POST, OPTIONS, PATCH, DELETE, PUT"


def failure_response(exc: Exception, scope: Scope) -> Response:
    """The answer to a request whose handler raised `exc`: a `BayouError`'s own
    `{code, message}`, anything else logged and hidden behind a 500."""
    if isinstance(exc, BayouError):
        return error_response(exc)
    log.error("unhandled error in %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
    return error_response(InternalError("Your request couldn't be completed. Try again later."))


def cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    """The CORS headers of a response to a request from `origin` (mirrored, never decoded)."""
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"origin"),
    ]


class ErrorMiddleware:
    """Turn a `BayouError` escaping a handler into its JSON response; hide internal errors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as e:
            if started:
                if not isinstance(e, BayouError):
                    log.exception(
                        "unhandled error in %s %s", scope.get("method"), scope.get("path")
                    )
                raise
            await failure_response(e, scope)(scope, receive, send)


class CorsMiddleware:
    """CORS headers on every response. Header values are bytes that need not be UTF-8 (a
    client may send any octet): they are mirrored as received, never decoded, so no header
    can make this layer — which runs outside `ErrorMiddleware` — fail a request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # HTTP actions under /http/ answer CORS themselves, as on the site port.
        if scope["type"] != "http" or scope.get("path", "").startswith("/http/"):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        origin = headers.get(b"origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        cors = cors_headers(origin)
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            preflight = [
                *cors,
                (b"access-control-allow-methods", CORS_METHODS.encode()),
                (
                    b"access-control-allow-headers",
                    headers.get(b"access-control-request-headers", b"*"),
                ),
                (b"access-control-max-age", b"86400"),
                (b"content-length", b"0"),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": preflight})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *cors]}
            await send(message)

        await self.app(scope, receive, with_cors)
