"""Reading request bodies: limits apply to what a body decompresses to, with 413."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import brotli
import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bayou.server.http import read_body, read_json, unless_disconnected
from bayou.server.middleware import ErrorMiddleware

LIMIT = 1000


async def body(request: Request) -> Response:
    return Response(bytes(await read_body(request, limit=LIMIT)))


async def raw(request: Request) -> Response:
    return Response(bytes(await read_body(request, limit=LIMIT, decode=False)))


async def json_body(request: Request) -> Response:
    return Response(str(await read_json(request, limit=LIMIT)))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(
        routes=[
            Route("/body", body, methods=["POST"]),
            Route("/raw", raw, methods=["POST"]),
            Route("/json", json_body, methods=["POST"]),
        ],
        middleware=[Middleware(ErrorMiddleware)],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_a_body_that_decompresses_past_the_limit_gets_413(client: httpx.AsyncClient) -> None:
    bomb = brotli.compress(b"\0" * (64 * 1024 * 1024), quality=5)
    answer = await client.post("/body", content=bomb, headers={"Content-Encoding": "br"})
    assert answer.status_code == 413
    error = answer.json()
    assert error["code"] == "BadJsonBody"
    assert error["message"].startswith("Failed to buffer the request body: length limit exceeded")
    assert str(LIMIT) in error["message"]


async def test_a_body_over_the_limit_as_sent_gets_413(client: httpx.AsyncClient) -> None:
    assert (await client.post("/body", content=b"x" * (LIMIT + 1))).status_code == 413
    assert (await client.post("/body", content=b"x" * LIMIT)).content == b"x" * LIMIT


async def test_compressed_bodies_are_decompressed_unless_asked_not_to(
    client: httpx.AsyncClient,
) -> None:
    data = gzip.compress(b"hello")
    headers = {"Content-Encoding": "gzip"}
    assert (await client.post("/body", content=data, headers=headers)).content == b"hello"
    assert (await client.post("/raw", content=data, headers=headers)).content == data


@pytest.mark.parametrize(
    ("encoding", "data", "text"),
    [
        ("br", b"not brotli", "not valid br data"),
        ("gzip", gzip.compress(b"{}", mtime=0)[:-3], "not valid gzip data"),
        ("compress", b"x", "Unsupported Content-Encoding 'compress'"),
    ],
)
async def test_a_body_that_cannot_be_decoded_gets_400(
    client: httpx.AsyncClient, encoding: str, data: bytes, text: str
) -> None:
    answer = await client.post("/body", content=data, headers={"Content-Encoding": encoding})
    assert answer.status_code == 400
    assert text in answer.json()["message"]


async def test_json_bodies_decompress_within_the_limit(client: httpx.AsyncClient) -> None:
    data = brotli.compress(b'{"a": 1}')
    headers = {"Content-Encoding": "br", "Content-Type": "application/json"}
    assert (await client.post("/json", content=data, headers=headers)).text == "{'a': 1}"


async def test_work_whose_client_disconnects_is_cancelled() -> None:
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def endpoint(request: Request) -> Response:
        await request.body()
        await unless_disconnected(forever(), request, "test work")
        raise AssertionError("unreachable")

    app = Starlette(
        routes=[Route("/", endpoint, methods=["POST"])], middleware=[Middleware(ErrorMiddleware)]
    )
    events = [
        {"type": "http.request", "body": b"{}", "more_body": False},
        {"type": "http.disconnect"},
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return events.pop(0) if events else await asyncio.Event().wait()  # type: ignore[func-returns-value]

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
    await app(scope, receive, send)
    assert cancelled.is_set()
    assert sent[0]["status"] == 408


async def test_work_that_finishes_first_gives_its_result() -> None:
    async def endpoint(request: Request) -> Response:
        await request.body()
        return Response(await unless_disconnected(asyncio.sleep(0, b"done"), request, "work"))

    app = Starlette(routes=[Route("/", endpoint, methods=["POST"])])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        assert (await c.post("/", content=b"{}")).content == b"done"
