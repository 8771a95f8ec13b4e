"""Fetching discovery documents and JWKS: data: URIs, bounds, media types, lifetimes."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bayou.auth.documents import JWKS_TYPES, DocumentCache, FetchError, read_data_uri


def test_data_uris_in_base64_or_percent_encoding() -> None:
    raw = b'{"keys": []}'
    assert read_data_uri("data:application/json;base64," + base64.b64encode(raw).decode()) == raw
    assert read_data_uri("data:application/json," + "%7B%22keys%22%3A%20%5B%5D%7D") == raw
    for bad in ("data:application/json;base64", "data:;base64,@@@"):
        with pytest.raises(FetchError):
            read_data_uri(bad)


class Server:
    def __init__(self) -> None:
        self.hits = 0
        self.body = b'{"ok": 1}'
        self.headers = {"content-type": "application/json", "cache-control": "max-age=120"}
        self.delay = 0.0

    def transport(self) -> httpx.ASGITransport:
        async def serve(request: Request) -> Response:
            self.hits += 1
            await asyncio.sleep(self.delay)
            return Response(self.body, headers=self.headers)

        app = Starlette(routes=[Route("/{path:path}", serve)])
        return httpx.ASGITransport(app=app)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_documents_are_cached_for_their_max_age_then_renewed_in_the_background() -> None:
    server, clock = Server(), Clock()
    cache = DocumentCache(transport=server.transport(), clock=clock)
    assert await cache.get("http://x/doc", dict) == {"ok": 1}
    assert await cache.get("http://x/doc", dict) == {"ok": 1}
    assert server.hits == 1
    clock.now += 121
    server.body = b'{"ok": 2}'
    assert await cache.get("http://x/doc", dict) == {"ok": 1}  # stale, served at once
    await asyncio.sleep(0.05)
    assert await cache.get("http://x/doc", dict) == {"ok": 2}
    assert server.hits == 2


async def test_max_age_is_clamped_and_defaults_to_ten_minutes() -> None:
    cache = DocumentCache()
    assert cache._ttl("public, max-age=15, stale-while-revalidate=15") == 60
    assert cache._ttl("max-age=999999999") == 86400
    assert cache._ttl(None) == 600


async def test_concurrent_requests_share_one_fetch() -> None:
    server = Server()
    server.delay = 0.05
    cache = DocumentCache(transport=server.transport())
    results = await asyncio.gather(*(cache.get("http://x/doc", dict) for _ in range(10)))
    assert results == [{"ok": 1}] * 10
    assert server.hits == 1


@pytest.mark.parametrize(
    ("headers", "body", "kind"),
    [
        ({"content-type": "text/html"}, b"{}", "content_type"),
        ({"content-type": "application/json; charset=latin-1"}, b"{}", "content_type"),
        ({"content-type": "application/json"}, b"{not json", "format"),
        ({"content-type": "application/json"}, b"[" + b"1," * 600_000 + b"1]", "format"),
    ],
)
async def test_unusable_answers_are_fetch_errors(
    headers: dict[str, str], body: bytes, kind: str
) -> None:
    server = Server()
    server.headers, server.body = headers, body
    cache = DocumentCache(transport=server.transport())
    with pytest.raises(FetchError) as caught:
        await cache.get("http://x/jwks", dict, accept=JWKS_TYPES)
    assert caught.value.kind == kind


async def test_jwk_set_json_is_a_jwks_media_type_and_redirects_are_not_followed() -> None:
    server = Server()
    server.headers = {"content-type": "application/jwk-set+json"}
    cache = DocumentCache(transport=server.transport())
    assert await cache.get("http://x/jwks", dict, accept=JWKS_TYPES) == {"ok": 1}

    async def redirect(request: Request) -> Response:
        return Response(status_code=302, headers={"location": "http://elsewhere/jwks"})

    transport = httpx.ASGITransport(app=Starlette(routes=[Route("/jwks", redirect)]))
    with pytest.raises(FetchError) as caught:
        await DocumentCache(transport=transport).get("http://x/jwks", dict)
    assert caught.value.reason.startswith("HTTP 302 Found to http://elsewhere/jwks")
