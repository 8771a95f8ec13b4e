"""Request bodies and error responses, the way Convex's HTTP API does them.

Bodies must be JSON (`Content-Type: application/json` or `application/*+json`), may be
compressed (`Content-Encoding: gzip | br | deflate`, as the CLI's push bodies are), and
are limited in size. Request-level failures are `{"code", "message"}` with the error's
HTTP status; `BayouError` carries both.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import brotli
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from bayou.errors import BadRequest, BayouError
from bayou.runner.identity import RequestOrigin

PUBLIC_API_MAX_BODY = 16 * 1024 * 1024 + 2000
PUSH_MAX_BODY = 200 * 1024 * 1024


class PayloadTooLarge(BadRequest):
    """A body over the limit: 400 `BadJsonBody`, the code Convex's backend answers with
    (its body extractor reports the length limit as a bad JSON body)."""

    default_code = "BadJsonBody"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def error_response(error: BayouError) -> Response:
    return json_response(error.to_json(), status=error.status)


async def read_body(request: Request, *, limit: int = PUBLIC_API_MAX_BODY) -> bytes:
    """The decompressed body; refuses bodies over `limit` before reading them whole."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return _decode(b"".join(chunks), request.headers.get("content-encoding"), limit)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than the limit of {limit} bytes: send smaller arguments "
        "(store large data with file storage and pass its id)."
    )


def _decode(body: bytes, encoding: str | None, limit: int) -> bytes:
    encoding = (encoding or "identity").strip().lower()
    try:
        if encoding in ("identity", ""):
            return body
        if encoding == "br":
            out = brotli.decompress(body)
        elif encoding == "gzip":
            out = gzip.decompress(body)
        elif encoding == "deflate":
            out = zlib.decompress(body)
        else:
            raise BadRequest(
                f"Unsupported Content-Encoding {encoding!r}: send the body uncompressed, or "
                "compressed with gzip, deflate or br.",
                code="BadJsonBody",
            )
    except BayouError:
        raise
    except Exception:
        raise BadRequest(
            f"The body is not valid {encoding} data (Content-Encoding: {encoding}): compress "
            "it with that encoding, or send it uncompressed without the header.",
            code="BadJsonBody",
        ) from None
    if len(out) > limit:
        raise _too_large(limit)
    return out


async def read_json(request: Request, *, limit: int = PUBLIC_API_MAX_BODY) -> Any:
    """The JSON body; `BadJsonBody` for a missing JSON content type or malformed JSON."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (
        content_type == "application/json"
        or (content_type.startswith("application/") and content_type.endswith("+json"))
    ):
        raise BadRequest(
            "Expected a JSON body: set `Content-Type: application/json`.", code="BadJsonBody"
        )
    body = await read_body(request, limit=limit)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"The body is not valid JSON: {e}", code="BadJsonBody") from None


def origin_of(scope: Scope) -> RequestOrigin:
    """The client's address and user agent of an HTTP request or WebSocket."""
    client = scope.get("client")
    agent = None
    for name, value in scope.get("headers") or ():
        if name == b"user-agent":
            agent = value.decode("latin-1")
            break
    return RequestOrigin(ip=client[0] if client else None, user_agent=agent)
