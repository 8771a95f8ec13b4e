"""CORS and error middleware as pure ASGI: header bytes that are not UTF-8 never fail a
request, and the Origin is mirrored exactly as it was sent."""

from __future__ import annotations

from typing import Any

from starlette.types import Message, Receive, Scope, Send

from bayou.server.middleware import CorsMiddleware, ErrorMiddleware

ORIGIN = b"http://\xe9vil"


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hi"})


async def call(method: str, headers: list[tuple[bytes, bytes]]) -> list[Message]:
    app = CorsMiddleware(ErrorMiddleware(hello))
    sent: list[Message] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/", "headers": headers}
    await app(scope, receive, send)
    return sent


async def test_an_origin_that_is_not_utf8_is_mirrored_as_sent() -> None:
    start, body = await call("GET", [(b"origin", ORIGIN), (b"user-agent", b"\xff\xfe")])
    assert start["status"] == 200 and body["body"] == b"hi"
    assert (b"access-control-allow-origin", ORIGIN) in start["headers"]


async def test_a_preflight_with_header_bytes_that_are_not_utf8_is_answered() -> None:
    headers = [
        (b"Origin", ORIGIN),
        (b"access-control-request-method", b"POST"),
        (b"access-control-request-headers", b"x-\xff"),
    ]
    start, _ = await call("OPTIONS", headers)
    assert start["status"] == 200
    assert (b"access-control-allow-origin", ORIGIN) in start["headers"]
    assert (b"access-control-allow-headers", b"x-\xff") in start["headers"]
