"""Health and identity routes: `/`, `/version`, `/instance_name`, `/echo`,
`/api/check_admin_key`, and `/api/bayou/status` (admin only: it names the database and
where it is)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bayou import __version__
from bayou.auth.admin_key import admin_key_check_response
from bayou.backend import Backend
from bayou.server.auth import request_identity, require_admin
from bayou.server.http import PUBLIC_API_MAX_BODY, json_response, read_body

# `/echo` answers anyone (it is what `npx convex network-test` measures with 4 MiB), so it
# takes no more than any other request without a key; Convex's own route takes 128 MiB.
ECHO_MAX_BODY = PUBLIC_API_MAX_BODY


def routes(backend: Backend) -> list[Route]:
    async def root(request: Request) -> Response:
        return PlainTextResponse("This Bayou deployment is running. It speaks Convex's protocols.")

    async def version(request: Request) -> Response:
        return PlainTextResponse(f"bayou-{__version__}")

    async def instance_name(request: Request) -> Response:
        return PlainTextResponse(backend.instance_name)

    async def echo(request: Request) -> Response:
        # The bytes as sent, compressed or not, as Convex's route answers them.
        body = await read_body(
            request, limit=ECHO_MAX_BODY, decode=False, hint="echo a smaller body"
        )
        return Response(bytes(body))

    async def check_admin_key(request: Request) -> Response:
        identity = request_identity(backend, request)
        return json_response(admin_key_check_response(identity.admin))

    async def status(request: Request) -> Response:
        require_admin(request_identity(backend, request))
        return json_response(backend.status())

    return [
        Route("/", root),
        Route("/version", version),
        Route("/instance_version", version),
        Route("/instance_name", instance_name),
        Route("/echo", echo, methods=["POST"]),
        Route("/api/check_admin_key", check_admin_key, methods=["GET", "POST"]),
        Route("/api/bayou/status", status),
    ]
