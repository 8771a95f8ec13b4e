"""The deploy protocol the official CLI speaks (`/api/deploy2/*`, js-compat.md §1.1)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bayou.backend import Backend
from bayou.deploy import requests
from bayou.deploy.push import PushPipeline
from bayou.server.auth import request_identity, require_admin, require_write
from bayou.server.http import PUSH_MAX_BODY, json_response, read_json

PUSH_HINT = "push fewer or smaller modules"


def routes(backend: Backend) -> list[Route]:
    pipeline = PushPipeline(backend)
    backend.push_pipeline = pipeline  # type: ignore[attr-defined]

    async def body_of(request: Request, *, write: bool = True) -> dict:
        """The body, once the key allows the request and the body has the endpoint's shape."""
        identity = request_identity(backend, request)
        (require_write if write else require_admin)(identity)
        body = await read_json(request, limit=PUSH_MAX_BODY, hint=PUSH_HINT)
        return requests.check(request.scope["path"], body)

    async def config_hashes(request: Request) -> Response:
        await body_of(request, write=False)
        return json_response(pipeline.config_hashes())

    async def start_push(request: Request) -> Response:
        return json_response(await pipeline.start_push(await body_of(request)))

    async def evaluate_schema(request: Request) -> Response:
        await body_of(request)
        # Best effort in the CLI: an empty evaluation makes its large-index checks pass.
        return json_response({"componentSchemaEvaluations": {}, "newComponentDefinitions": []})

    async def evaluate_push(request: Request) -> Response:
        await body_of(request)
        return json_response(
            {"schemaChange": {"allocatedComponentIds": {}, "schemaIds": {}, "indexDiffs": {}}}
        )

    async def wait_for_schema(request: Request) -> Response:
        return json_response(await pipeline.wait_for_schema(await body_of(request)))

    async def finish_push(request: Request) -> Response:
        return json_response(await pipeline.finish_push(await body_of(request)))

    async def report_push_completed(request: Request) -> Response:
        await body_of(request, write=False)
        return json_response({})

    async def canonical_urls(request: Request) -> Response:
        require_admin(request_identity(backend, request))
        s = backend.settings
        return json_response({"convexCloudUrl": s.api_origin, "convexSiteUrl": s.http_origin})

    return [
        Route("/api/get_config_hashes", config_hashes, methods=["POST"]),
        Route("/api/deploy2/start_push", start_push, methods=["POST"]),
        Route("/api/deploy2/evaluate_schema", evaluate_schema, methods=["POST"]),
        Route("/api/deploy2/evaluate_push", evaluate_push, methods=["POST"]),
        Route("/api/deploy2/wait_for_schema", wait_for_schema, methods=["POST"]),
        Route("/api/deploy2/finish_push", finish_push, methods=["POST"]),
        Route("/api/deploy2/report_push_completed", report_push_completed, methods=["POST"]),
        Route("/api/v1/get_canonical_urls", canonical_urls, methods=["GET"]),
    ]
