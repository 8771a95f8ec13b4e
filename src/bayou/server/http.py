"""Request bodies and error responses, the way Convex's HTTP API does them.

Bodies must be JSON (`Content-Type: application/json` or `application/*+json`), may be
compressed (`Content-Encoding: gzip | br | deflate`, as the CLI's push bodies are), and
are limited in size — the limit applies to the body as received and to what it
decompresses to, and decompression stops at the limit (`bayou.server.decompression`), off
the event loop, so a small compressed body cannot take more memory or stall other
requests. Request-level failures are `{"code", "message"}` with the error's HTTP status;
`BayouError` carries both. `unless_disconnected` stops work whose client has gone away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from bayou.errors import BadRequest, BayouError
from bayou.runner.identity import RequestOrigin
from bayou.server.decompression import BoundedDecoder, InvalidData, TooLarge, UnknownCoding

# Convex's MAX_BACKEND_PUBLIC_API_REQUEST_SIZE; pushes: about Convex's MAX_PUSH_BYTES (200 MB).
PUBLIC_API_MAX_BODY = 16 * 1024 * 1024 + 2000
PUSH_MAX_BODY = 200 * 1024 * 1024
ARGUMENTS_HINT = "send smaller arguments (store large data with file storage and pass its id)"

log = logging.getLogger("bayou.server")
T = TypeVar("T")


class PayloadTooLarge(BadRequest):
    """A body over the limit, before or after decompression: 413 with Convex's code and
    wording for it (`BadJsonBody`, "Failed to buffer the request body: length limit
    exceeded"), then the limit and what to do."""

    status = 413
    default_code = "BadJsonBody"


class ClientDisconnected(BayouError):
    """The client went away before its request was answered (Convex's code and text; the
    status is only ever seen in logs)."""

    status = 408
    default_code = "ClientDisconnected"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def error_response(error: BayouError) -> Response:
    return json_response(error.to_json(), status=error.status)


async def read_body(
    request: Request,
    *,
    limit: int = PUBLIC_API_MAX_BODY,
    decode: bool = True,
    hint: str = ARGUMENTS_HINT,
) -> bytes | bytearray:
    """The body, decompressed as its `Content-Encoding` says (unless `decode` is false).

    Refuses a body over `limit` — as declared, as received, or as it decompresses — without
    holding more than `limit` bytes of it.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, hint)
    coding = request.headers.get("content-encoding") if decode else None
    try:
        decoder = BoundedDecoder(coding, limit)
    except UnknownCoding:
        raise BadRequest(
            f"Unsupported Content-Encoding {coding!r}: send the body uncompressed, or "
            "compressed with gzip, deflate or br.",
            code="BadJsonBody",
        ) from None
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise TooLarge
            if decoder.compressed:
                # Decompression is CPU work (up to `limit` bytes of output): not on the loop.
                await asyncio.to_thread(decoder.feed, chunk)
            else:
                decoder.feed(chunk)
        if decoder.compressed:
            return await asyncio.to_thread(decoder.finish)
        return decoder.finish()
    except TooLarge:
        raise _too_large(limit, hint) from None
    except InvalidData:
        raise BadRequest(
            f"The body is not valid {decoder.coding} data (Content-Encoding: {decoder.coding}): "
            "compress it with that encoding, or send it uncompressed without the header.",
            code="BadJsonBody",
        ) from None


def _too_large(limit: int, hint: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        "Failed to buffer the request body: length limit exceeded. A request body may have "
        f"at most {limit} bytes (after decompression): {hint}."
    )


async def read_json(
    request: Request, *, limit: int = PUBLIC_API_MAX_BODY, hint: str = ARGUMENTS_HINT
) -> Any:
    """The JSON body; `BadJsonBody` for a missing JSON content type or malformed JSON."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (
        content_type == "application/json"
        or (content_type.startswith("application/") and content_type.endswith("+json"))
    ):
        raise BadRequest(
            "Expected a JSON body: set `Content-Type: application/json`.", code="BadJsonBody"
        )
    body = await read_body(request, limit=limit, hint=hint)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"The body is not valid JSON: {e}", code="BadJsonBody") from None


async def unless_disconnected(work: Awaitable[T], request: Request, what: str) -> T:
    """`work`'s result, unless the client disconnects first: then `work` is cancelled (an
    action's runtime stops it) and `ClientDisconnected` raised. Call it once the body has
    been read: from then on the only thing the client can send is its disconnect."""
    running = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({running, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not running.done():
            running.cancel()
            await asyncio.wait({running})
    if running.cancelled():
        log.info("%s stopped: its HTTP client disconnected", what)
        raise ClientDisconnected("Client disconnected")
    return running.result()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


def origin_of(scope: Scope) -> RequestOrigin:
    """The client's address and user agent of an HTTP request or WebSocket."""
    client = scope.get("client")
    agent = None
    for name, value in scope.get("headers") or ():
        if name == b"user-agent":
            agent = value.decode("latin-1")
            break
    return RequestOrigin(ip=client[0] if client else None, user_agent=agent)
