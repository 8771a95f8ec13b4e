"""The baseline of bench/http_action_bench.py: `POST /echo` doing the HTTP action's work
(parse a JSON body, answer JSON) as a plain Starlette endpoint, served by uvicorn with the
settings `bayou serve` uses (httptools, uvloop).

    python bench/plain_echo_server.py --port 3400
"""

from __future__ import annotations

import argparse

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def echo(request: Request) -> Response:
    body = orjson.loads(await request.body())
    answer = orjson.dumps({"hello": body["name"], "twice": body["n"] * 2})
    return Response(answer, media_type="application/json")


async def version(request: Request) -> Response:
    return Response("plain")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/version", version)])
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, http="httptools", loop="uvloop", log_level="warning"
    )


if __name__ == "__main__":
    main()
