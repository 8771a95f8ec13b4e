"""The ASGI applications: wiring of route modules and middleware, no logic.

`api_app` serves port 3210 (functions, deploy, CLI, sync); `site_app` serves port 3211
(HTTP actions). Both share one `Backend`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from bayou.backend import Backend
from bayou.errors import NotFound
from bayou.server import (
    dashboard_routes,
    deploy_routes,
    env_routes,
    function_routes,
    http_action_routes,
    log_routes,
    meta_routes,
    ops_routes,
    snapshot_routes,
    storage_routes,
    sync_routes,
)
from bayou.server.access_log import AccessLogMiddleware
from bayou.server.auth import UserTokenMiddleware
from bayou.server.function_front import FunctionFront
from bayou.server.http import error_response
from bayou.server.middleware import CorsMiddleware, ErrorMiddleware


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(
        NotFound(f"No route for {request.method} {request.url.path}", code="NotFound")
    )


def api_app(backend: Backend) -> FunctionFront:
    # The function API's hot routes skip the router and middleware (`function_front`);
    # Starlette tries routes in order: the rest of the function API first.
    api = function_routes.FunctionApi(backend)
    routes = [
        *function_routes.routes(backend, api),
        *meta_routes.routes(backend),
        *deploy_routes.routes(backend),
        *env_routes.routes(backend),
        *log_routes.routes(backend),
        *sync_routes.routes(backend),
        *storage_routes.routes(backend),
        *snapshot_routes.routes(backend),
        *ops_routes.routes(backend),
        *http_action_routes.api_routes(backend),
        *dashboard_routes.routes(backend),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(AccessLogMiddleware),
            Middleware(CorsMiddleware),
            Middleware(ErrorMiddleware),
            # User tokens are checked before the routes (fetching an issuer's keys is async).
            Middleware(UserTokenMiddleware, backend=backend),
        ],
        exception_handlers={404: _not_found, 405: _not_found},
    )
    return FunctionFront(app, backend, api)


def site_app(backend: Backend) -> Starlette:
    # No CORS here: HTTP actions answer preflights themselves, as on Convex.
    return Starlette(
        routes=http_action_routes.site_routes(backend),
        middleware=[Middleware(AccessLogMiddleware), Middleware(ErrorMiddleware)],
    )
