"""HTTP actions: every request on the site port (3211), and under `/http/` on the API port
(so one origin is enough behind a reverse proxy), goes to the deployment's router.

No CORS is added (the app's routes decide, as on Convex). Bodies over 20 MiB are refused
with 413 before they are read whole; a client that disconnects stops its action.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bayou.backend import Backend
from bayou.runner.http_actions import MAX_HTTP_BODY, run_http_action
from bayou.server.auth import http_action_identity
from bayou.server.http import origin_of, read_body, unless_disconnected

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
BODY_HINT = "send at most 20 MiB to an HTTP action (store large files with file storage)"


def handler(backend: Backend, *, prefix: str = ""):  # type: ignore[no-untyped-def]
    async def serve(request: Request) -> Response:
        assert backend.runner is not None
        path = request.url.path.removeprefix(prefix) or "/"
        body = await read_body(request, limit=MAX_HTTP_BODY, decode=False, hint=BODY_HINT)
        query = request.url.query
        url = backend.settings.http_origin + path + (f"?{query}" if query else "")
        work = run_http_action(
            backend.runner,
            request.method,
            url,
            path,
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
            bytes(body) if body else None,
            identity=await http_action_identity(backend, request),
            origin=origin_of(request.scope),
            redact=backend.settings.redact_logs_to_client,
        )
        # A client that goes away stops its action, as on Convex.
        answer = await unless_disconnected(work, request, f"HTTP action {request.method} {path}")
        response = Response(
            b"" if request.method == "HEAD" else answer.body, status_code=answer.status
        )
        response.raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.headers
            if k.lower() != "content-length"
        ]
        response.headers["content-length"] = str(len(answer.body))
        return response

    return serve


def site_routes(backend: Backend) -> list[Route]:
    return [Route("/{path:path}", handler(backend), methods=METHODS)]


def api_routes(backend: Backend) -> list[Route]:
    """`/http/...` on the API port: the same actions, one origin for everything."""
    return [Route("/http/{path:path}", handler(backend, prefix="/http"), methods=METHODS)]
