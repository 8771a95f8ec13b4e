"""The ASGI applications: wiring of route modules and middleware, no logic.

`api_app` serves port 3210 (functions, deploy, CLI, sync); `site_app` serves port 3211
(HTTP actions). Both share one `Backend`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bayou.backend import Backend
from bayou.errors import NotFound
from bayou.server import (
    deploy_routes,
    env_routes,
    function_routes,
    log_routes,
    meta_routes,
    sync_routes,
)
from bayou.server.http import error_response
from bayou.server.middleware import CorsMiddleware, ErrorMiddleware


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(
        NotFound(f"No route for {request.method} {request.url.path}", code="NotFound")
    )


def api_app(backend: Backend) -> Starlette:
    routes = [
        *meta_routes.routes(backend),
        *function_routes.routes(backend),
        *deploy_routes.routes(backend),
        *env_routes.routes(backend),
        *log_routes.routes(backend),
        *sync_routes.routes(backend),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(CorsMiddleware), Middleware(ErrorMiddleware)],
        exception_handlers={404: _not_found, 405: _not_found},
    )


def site_app(backend: Backend) -> Starlette:
    async def no_route(request: Request) -> Response:
        raise NotFound(f"No HttpAction routed for {request.url.path}", code="NotFound")

    return Starlette(
        routes=[
            Route(
                "/{path:path}",
                no_route,
                methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
            )
        ],
        middleware=[Middleware(CorsMiddleware), Middleware(ErrorMiddleware)],
    )
