from bayou import ActionCtx, HttpRouter, Request, Response, http_action, internal

from .typesig import sig

http = HttpRouter()


@http_action
def roundtrip(ctx: ActionCtx, request: Request) -> Response:
    value = request.json()
    echoed = ctx.run_query(internal.numbers.echo, {"value": value})
    return Response.json({"sent": sig(value), "query": sig(echoed), "value": echoed})


http.route(path="/roundtrip", method="POST", handler=roundtrip)
