from typing import Any

from bayou import ActionCtx, HttpRouter, Request, Response, api, http_action

http = HttpRouter()


@http_action
def post_message(ctx: ActionCtx, request: Request) -> Response:
    body = request.json()
    message_id = ctx.run_mutation(api.messages.send, body)
    return Response.json({"id": message_id}, status=201)


@http_action
async def echo(ctx: Any, request: Request) -> Response:
    return Response(f"{request.method} {request.path}", headers={"x-echo": "1"})


http.route(path="/postMessage", method="POST", handler=post_message)
http.route(path_prefix="/echo/", method="GET", handler=echo)
