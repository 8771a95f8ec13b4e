"""`GET /api/stream_function_logs?cursor=<ms>`: the long poll behind `npx convex logs`."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bayou.backend import Backend
from bayou.errors import BadRequest
from bayou.server.auth import request_identity, require_admin
from bayou.server.http import json_response

POLL_SECONDS = 60.0


def routes(backend: Backend, *, poll_seconds: float = POLL_SECONDS) -> list[Route]:
    async def stream(request: Request) -> Response:
        require_admin(request_identity(backend, request))
        raw = request.query_params.get("cursor", "0")
        try:
            cursor = float(raw)
            if not math.isfinite(cursor):
                raise ValueError
        except ValueError:
            raise BadRequest(
                f"cursor must be a number, got {raw!r}", code="InvalidCursor"
            ) from None
        entries, new_cursor = await backend.logs.wait_since(cursor, poll_seconds)
        return json_response({"entries": entries, "newCursor": new_cursor})

    return [
        Route("/api/stream_function_logs", stream, methods=["GET"]),
        Route("/api/app_metrics/stream_function_logs", stream, methods=["GET"]),
    ]
