"""HTTP actions: a JSON webhook, a form upload, a redirect, a prefix route, one that fails,
and files uploaded and served through actions. Served on the site port (3211) and under
/http/ on the API port."""

from typing import Any
from urllib.parse import urljoin

from bayou import ActionCtx, HttpRouter, Request, Response, api, http_action

http = HttpRouter()


@http_action
def webhook(ctx: ActionCtx, request: Request) -> Response:
    payload = request.json()
    sent = ctx.run_mutation(
        api.messages.send,
        {"channel": payload["channel"], "author": payload["author"], "body": payload["body"]},
    )
    return Response.json({"seq": sent["seq"]}, status=201)


@http_action
def upload(ctx: ActionCtx, request: Request) -> Response:
    form = request.form()
    file: Any = form["file"]
    return Response.json({"name": form["name"], "size": file.size, "text": file.text()})


@http_action
def stream(ctx: ActionCtx, request: Request) -> Response:
    return Response("".join(["one ", "two ", "three"]), headers={"content-type": "text/plain"})


@http_action
def old_home(ctx: ActionCtx, request: Request) -> Response:
    return Response.redirect(urljoin(request.url, "/home"), 302)


@http_action
def echo(ctx: ActionCtx, request: Request) -> Response:
    query = request.url.partition("?")[2]
    return Response(f"{request.method} {request.path}{'?' + query if query else ''}")


@http_action
def boom(ctx: ActionCtx, request: Request) -> Response:
    raise RuntimeError("webhook failed")


@http_action
def files_upload(ctx: ActionCtx, request: Request) -> Response:
    """Upload through an HTTP action: the body becomes a stored file."""
    storage_id = ctx.storage.store(request.body or b"", request.headers.get("content-type"))
    return Response.json({"storageId": storage_id})


@http_action
def files_serve(ctx: ActionCtx, request: Request) -> Response:
    storage_id = request.query_params["id"]
    data = ctx.storage.get(storage_id)
    if data is None:
        return Response("no such file", status=404)
    meta = ctx.storage.get_metadata(storage_id) or {}
    return Response(data, headers={"content-type": meta.get("contentType") or ""})


http.route(path="/webhook", method="POST", handler=webhook)
http.route(path="/upload", method="POST", handler=upload)
http.route(path="/stream", method="GET", handler=stream)
http.route(path="/old-home", method="GET", handler=old_home)
http.route(path_prefix="/echo/", method="GET", handler=echo)
http.route(path="/boom", method="POST", handler=boom)
http.route(path="/files/upload", method="POST", handler=files_upload)
http.route(path="/files/serve", method="GET", handler=files_serve)
