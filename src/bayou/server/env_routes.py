"""Deployment environment variables over HTTP: what `npx convex env set/remove` calls."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bayou.backend import Backend
from bayou.errors import BadRequest
from bayou.server.auth import request_identity, require_admin, require_write
from bayou.server.http import json_response, read_json


def routes(backend: Backend) -> list[Route]:
    async def update(request: Request) -> Response:
        require_write(request_identity(backend, request))
        body = await read_json(request)
        changes = body.get("changes") if isinstance(body, dict) else None
        if not isinstance(changes, list):
            raise BadRequest(
                'The body must be {"changes": [{"name", "value"}]}', code="BadJsonBody"
            )
        parsed: list[tuple[str, str | None]] = []
        for change in changes:
            if not isinstance(change, dict) or "name" not in change:
                raise BadRequest("Each change needs a `name` and a `value`", code="BadJsonBody")
            parsed.append((change["name"], change.get("value")))
        await backend.update_environment(parsed)
        return json_response({})

    async def list_(request: Request) -> Response:
        require_admin(request_identity(backend, request))
        return json_response({"environmentVariables": dict(sorted(backend.environment.items()))})

    return [
        Route("/api/update_environment_variables", update, methods=["POST"]),
        Route("/api/v1/update_environment_variables", update, methods=["POST"]),
        Route("/api/list_environment_variables", list_, methods=["GET"]),
        Route("/api/v1/list_environment_variables", list_, methods=["GET"]),
    ]
