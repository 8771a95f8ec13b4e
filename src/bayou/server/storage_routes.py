"""File storage over HTTP, as Convex serves it:

    POST /api/storage/upload?token=…   the raw bytes (not multipart), streamed into the
                                        store; `Content-Type` kept, `Digest: sha-256=…`
                                        checked → {"storageId": "<_storage id>"}
    GET  /api/storage/{uuid}            the file, streamed (HEAD too); one `Range` → 206
    GET  /api/bayou/storage             (admin) the store and what `bayou doctor` checks:
                                        orphaned blobs, rows whose blob is missing

Uploads have no size limit; the body is read as it arrives, never whole, and an upload
that sends nothing for a minute is abandoned. Anyone with a file's URL may read it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bayou.backend import Backend
from bayou.errors import BadRequest
from bayou.files.service import FileStorage, stream
from bayou.server.auth import request_identity, require_admin
from bayou.server.http import ClientDisconnected, json_response

IDLE_TIMEOUT_S = 60.0


class UploadStalled(BadRequest):
    status = 408
    default_code = "UploadTimeout"


def routes(backend: Backend) -> list[Route]:
    def files() -> FileStorage:
        assert backend.files is not None
        return backend.files

    async def upload(request: Request) -> Response:
        token = request.query_params.get("token")
        if not token:
            raise BadRequest(
                "Missing the `token` query parameter: POST the file to the URL that "
                "ctx.storage.generateUploadUrl() returned.",
                code="BadRequest",
            )
        storage_id = await files().upload(
            token,
            _body(request),
            content_type=request.headers.get("content-type"),
            digest=request.headers.get("digest"),
        )
        return json_response({"storageId": storage_id})

    async def get_file(request: Request) -> Response:
        answer = await files().serve(request.path_params["uuid"], request.headers.get("range"))
        if answer.body is None or request.method == "HEAD":
            if answer.body is not None:
                await answer.body.aclose()
            response = Response(b"", status_code=answer.status)
            response.headers.update(answer.headers)
            return response
        return StreamingResponse(
            stream(answer.body), status_code=answer.status, headers=answer.headers
        )

    async def audit(request: Request) -> Response:
        require_admin(request_identity(backend, request))
        return json_response(await files().audit())

    return [
        Route("/api/storage/upload", upload, methods=["POST"]),
        Route("/api/storage/{uuid}", get_file, methods=["GET"]),
        Route("/api/bayou/storage", audit),
    ]


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives; a client that stalls or goes away ends it."""
    chunks = request.stream().__aiter__()
    while True:
        try:
            async with asyncio.timeout(IDLE_TIMEOUT_S):  # no task per chunk, as wait_for's
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise UploadStalled(
                f"The upload sent nothing for {IDLE_TIMEOUT_S:g} s and was abandoned; nothing "
                "was stored."
            ) from None
        except ClientDisconnect:
            raise ClientDisconnected("Client disconnected") from None
        if chunk:
            yield chunk
