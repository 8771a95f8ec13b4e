"""The work both targets do: parse a JSON body, answer JSON derived from it."""

from typing import Any

from bayou import HttpRouter, Request, Response, http_action

http = HttpRouter()


@http_action
def echo(ctx: Any, request: Request) -> Response:
    body = request.json()
    return Response.json({"hello": body["name"], "twice": body["n"] * 2})


http.route(path="/echo", method="POST", handler=echo)
