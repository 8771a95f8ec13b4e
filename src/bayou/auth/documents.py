"""The documents user tokens are verified with — OIDC discovery documents and JSON Web Key
Sets — fetched over HTTP(S) (or read from `data:` URIs), bounded and cached.

- A fetch takes at most `timeout` seconds in all and at most `max_bytes`; redirects are
  not followed (an issuer's URLs are configuration, not something to be sent elsewhere).
- A document is served from the cache for its lifetime: its `Cache-Control: max-age`
  clamped to [1 minute, 1 day], 10 minutes when it says nothing. Past that, the cached copy
  is still served while one background fetch renews it, so an issuer that is down, slow or
  answering garbage does not stop tokens signed with keys already known.
- `refresh=True` (a token names a key the cached set lacks) fetches again before answering,
  at most once per `cooldown` seconds per URL, so tokens with made-up key ids cannot make
  the server hammer an issuer; when that fetch fails the cached copy is used.
- Concurrent requests for one URL share one fetch.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("bayou.auth")

T = TypeVar("T")
JSON_TYPES = ("application/json",)
JWKS_TYPES = ("application/json", "application/jwk-set+json")
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


class FetchError(Exception):
    """A document that could not be had. `reason` is what went wrong, in words ("HTTP 404
    Not Found", "timed out after 5 s", "the response is not JSON" …); `kind` classifies it:
    `network`, `status`, `content_type`, `format`."""

    def __init__(
        self, kind: str, reason: str, *, status: int | None = None, body: str = ""
    ) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.status = status
        self.body = body


@dataclass(slots=True)
class _Entry(Generic[T]):
    value: T
    fetched_at: float  # clock() when fetched
    fresh_until: float


class DocumentCache:
    """Documents by URL, parsed once (see the module docstring for the rules)."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        max_bytes: int = 1 << 20,
        cooldown: float = 5.0,
        default_ttl: float = 600.0,
        min_ttl: float = 60.0,
        max_ttl: float = 86400.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.cooldown = cooldown
        self.default_ttl = default_ttl
        self.min_ttl = min_ttl
        self.max_ttl = max_ttl
        self.clock = clock
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._entries: dict[tuple[str, str], _Entry[Any]] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future[_Entry[Any]]] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def get(
        self,
        url: str,
        parse: Callable[[Any], T],
        *,
        accept: tuple[str, ...] = JSON_TYPES,
        refresh: bool = False,
        purpose: str = "document",
    ) -> T:
        """The parsed document at `url` (`parse` turns its JSON into the cached value and
        raises `FetchError("format", …)` when it is unusable); raises `FetchError`."""
        key = (purpose, url)
        entry = self._entries.get(key)
        now = self.clock()
        if entry is not None:
            if refresh and now - entry.fetched_at >= self.cooldown:
                try:
                    return (await self._fetch_once(key, url, parse, accept)).value  # type: ignore[no-any-return]
                except FetchError as e:
                    log.warning("could not refresh %s (keeping the cached copy): %s", url, e.reason)
                    return entry.value  # type: ignore[no-any-return]
            if now >= entry.fresh_until:
                self._renew_in_background(key, url, parse, accept)
            return entry.value  # type: ignore[no-any-return]
        return (await self._fetch_once(key, url, parse, accept)).value  # type: ignore[no-any-return]

    def cached(self, url: str, *, purpose: str = "document") -> bool:
        return (purpose, url) in self._entries

    async def aclose(self) -> None:
        for task in self._background:
            task.cancel()
        for fetch in self._inflight.values():
            fetch.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- fetching -----------------------------------------------------------------------

    def _renew_in_background(
        self, key: tuple[str, str], url: str, parse: Callable[[Any], Any], accept: tuple[str, ...]
    ) -> None:
        if key in self._inflight:
            return

        async def renew() -> None:
            try:
                await self._fetch_once(key, url, parse, accept)
            except FetchError as e:
                # Keep serving the cached copy; try again after the cooldown.
                entry = self._entries.get(key)
                if entry is not None:
                    entry.fresh_until = self.clock() + self.cooldown
                log.warning("could not renew %s (keeping the cached copy): %s", url, e.reason)

        task = asyncio.ensure_future(renew())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _fetch_once(
        self, key: tuple[str, str], url: str, parse: Callable[[Any], Any], accept: tuple[str, ...]
    ) -> _Entry[Any]:
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(url, parse, accept))
            self._inflight[key] = pending

            def done(future: asyncio.Future[_Entry[Any]]) -> None:
                self._inflight.pop(key, None)
                if not future.cancelled():
                    future.exception()  # retrieved: every waiter may have gone

            pending.add_done_callback(done)
        # Shielded: one caller going away (a client disconnecting) does not cancel the
        # fetch the others wait for.
        entry = await asyncio.shield(pending)
        self._entries[key] = entry
        return entry

    async def _fetch(
        self, url: str, parse: Callable[[Any], Any], accept: tuple[str, ...]
    ) -> _Entry[Any]:
        if url.startswith("data:"):
            body, ttl = read_data_uri(url), self.max_ttl
        else:
            body, ttl = await self._download(url, accept)
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise FetchError("format", "the response is not JSON") from None
        value = parse(document)
        now = self.clock()
        return _Entry(value, now, now + ttl)

    async def _download(self, url: str, accept: tuple[str, ...]) -> tuple[bytes, float]:
        import httpx

        if not url.startswith(("http://", "https://")):
            raise FetchError("network", f"{url!r} is not an http(s) URL")
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport,
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                headers={"Accept": accept[-1] if len(accept) > 1 else accept[0]},
            )
        try:
            async with asyncio.timeout(self.timeout):
                async with self._client.stream("GET", url) as response:
                    body = await self._read(response)
        except (TimeoutError, httpx.TimeoutException):
            raise FetchError("network", f"timed out after {self.timeout:g} s") from None
        except httpx.HTTPError as e:
            raise FetchError("network", _describe(e)) from None
        if response.status_code != 200:
            reason = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
            if 300 <= response.status_code < 400:
                reason += (
                    f" to {response.headers.get('location', '?')} (redirects are not followed)"
                )
            raise FetchError(
                "status",
                reason,
                status=response.status_code,
                body=body[:500].decode("utf-8", "replace"),
            )
        content_type = response.headers.get("content-type")
        if not media_type_ok(content_type, accept):
            raise FetchError("content_type", content_type or "unknown")
        return body, self._ttl(response.headers.get("cache-control"))

    async def _read(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError("format", f"the response is larger than {self.max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError("format", f"the response is larger than {self.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _ttl(self, cache_control: str | None) -> float:
        match = _MAX_AGE.search(cache_control or "")
        ttl = float(match.group(1)) if match else self.default_ttl
        return min(max(ttl, self.min_ttl), self.max_ttl)


def read_data_uri(uri: str) -> bytes:
    """The bytes of a `data:[<type>][;base64],<data>` URI; `FetchError` if malformed."""
    header, comma, data = uri[5:].partition(",")
    if not comma:
        raise FetchError("format", "the data: URI has no comma before its data")
    if header.lower().endswith(";base64"):
        compact = re.sub(r"\s+", "", urllib.parse.unquote(data))
        try:
            return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise FetchError("format", "the data: URI is not valid base64") from None
    return urllib.parse.unquote_to_bytes(data)


def media_type_ok(content_type: str | None, accept: tuple[str, ...]) -> bool:
    if not content_type:
        return False
    essence, *params = (part.strip() for part in content_type.split(";"))
    if essence.lower() not in accept:
        return False
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            return False
    return True


def _describe(error: Exception) -> str:
    import httpx

    text = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError):
        return f"could not connect: {text}"
    return text
