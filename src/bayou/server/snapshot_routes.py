"""Snapshot export and import over HTTP, as `npx convex export` / `import` call them
(ops-surface.md §3.2–3.3); progress is read through `_system/cli/exports:getLatest` and
`_system/cli/queryImport` subscriptions.

    POST /api/export/request/zip?includeStorage=…   start an export (ExportInProgress)
    GET  /api/export/zip/{id | start_ts}            the ZIP, streamed
    POST /api/import/start_upload                   → {"uploadToken"}
    POST /api/import/upload_part?uploadToken&partNumber   raw bytes → "<part token>"
    POST /api/import/finish_upload                  {import, uploadToken, partTokens} → {"importId"}
    POST /api/perform_import                        {importId}
    POST /api/cancel_import                         {importId}
    GET  /api/bayou/backups                         the backups (`bayou backup list`)
    POST /api/bayou/backups                         a backup now (`bayou backup now`)

All need an admin key; those that change data need one that may write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from bayou.backend import Backend
from bayou.errors import BadRequest
from bayou.server.auth import request_identity, require_admin, require_write
from bayou.server.http import json_response, read_json
from bayou.server.storage_routes import _body
from bayou.snapshots.service import Snapshots

CACHE_CONTROL = "private, max-age=2592000"


def routes(backend: Backend) -> list[Route]:
    def snapshots() -> Snapshots:
        assert backend.snapshots is not None
        return backend.snapshots

    async def request_export(request: Request) -> Response:
        require_admin(request_identity(backend, request))
        include = request.query_params.get("includeStorage", "false").lower() == "true"
        await snapshots().request_export(include_storage=include)
        return Response(b"", status_code=200)

    async def download(request: Request) -> Response:
        require_admin(request_identity(backend, request))
        found = await snapshots().export_file(request.path_params["id"])
        name = f"snapshot_{backend.instance_name}_{int(found.doc['start_ts'])}.zip"
        headers = {
            "content-disposition": f"attachment; filename={name}",
            "cache-control": CACHE_CONTROL,
        }
        if found.path is not None:
            return FileResponse(found.path, media_type="application/zip", headers=headers)
        assert found.stream is not None  # from S3_STORAGE_EXPORTS_BUCKET
        stream = found.stream

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in stream:
                    yield chunk
            finally:
                await stream.aclose()

        headers["content-length"] = str(found.size)
        return StreamingResponse(body(), media_type="application/zip", headers=headers)

    async def start_upload(request: Request) -> Response:
        require_write(request_identity(backend, request))
        return json_response({"uploadToken": snapshots().start_upload()})

    async def upload_part(request: Request) -> Response:
        require_write(request_identity(backend, request))
        token = request.query_params.get("uploadToken", "")
        part = request.query_params.get("partNumber", "")
        if not part.isdigit():
            raise BadRequest("partNumber must be a number", code="InvalidPartNumber")
        return json_response(await snapshots().upload_part(token, int(part), _body(request)))

    async def finish_upload(request: Request) -> Response:
        require_write(request_identity(backend, request))
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("import"), dict):
            raise BadRequest(
                'The body must be {"import": {...}, "uploadToken", "partTokens"}',
                code="BadJsonBody",
            )
        parts = body.get("partTokens") or []
        if not isinstance(parts, list):
            raise BadRequest("partTokens must be a list", code="BadJsonBody")
        import_id = await snapshots().finish_upload(
            body["import"], str(body.get("uploadToken", "")), parts
        )
        return json_response({"importId": import_id})

    async def _import_id(request: Request) -> str:
        require_write(request_identity(backend, request))
        body = await read_json(request)
        import_id = body.get("importId") if isinstance(body, dict) else None
        if not isinstance(import_id, str):
            raise BadRequest('The body must be {"importId": "<id>"}', code="BadJsonBody")
        return import_id

    async def perform(request: Request) -> Response:
        await snapshots().perform(await _import_id(request))
        return json_response({})

    async def cancel(request: Request) -> Response:
        await snapshots().cancel(await _import_id(request))
        return json_response({})

    async def backups(request: Request) -> Response:
        backups = backend.backups
        assert backups is not None
        if request.method == "POST":
            require_write(request_identity(backend, request))
            made = await backups.backup_now()
            return json_response({"backup": made.to_json(), "pruned": []})
        require_admin(request_identity(backend, request))
        return json_response(
            {
                "directory": backups.where,
                "backups": [b.to_json() for b in await backups.list()],
                "schedule": backups.schedule,
                "keep": backups.keep,
                "next": next_run.isoformat() if (next_run := backups.next_run()) else None,
            }
        )

    return [
        Route("/api/bayou/backups", backups, methods=["GET", "POST"]),
        Route("/api/export/request/zip", request_export, methods=["POST"]),
        Route("/api/export/zip/{id}", download, methods=["GET"]),
        Route("/api/import/start_upload", start_upload, methods=["POST"]),
        Route("/api/import/upload_part", upload_part, methods=["POST"]),
        Route("/api/import/finish_upload", finish_upload, methods=["POST"]),
        Route("/api/perform_import", perform, methods=["POST"]),
        Route("/api/cancel_import", cancel, methods=["POST"]),
    ]
