"""Running HTTP actions: a request in, a response out, through the deployment's router.

Both runtimes run the router (`convex/http.ts` or `http.py`) as the action
`http.js:default` whose one argument is the request `{method, url, headers: [[name,
value]…], body: bytes | null}`; it answers `{status, headers, body, routedPath}` (routing
happens in the runtime, as on Convex: exact path first, then the longest prefix). The
action has an action's context (`runQuery`, `runMutation`, `runAction`, the scheduler) and
an action's time limit. Bodies are read whole, up to Convex's 20 MiB each way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bayou.errors import BayouError
from bayou.model.deployment import FunctionSpec
from bayou.protocol.function_path import FunctionPath
from bayou.runner.function_runner import CallContext, CallRequest, CallResult, FunctionRunner
from bayou.runner.identity import NO_ORIGIN, Identity, RequestOrigin
from bayou.values import json as vjson
from bayou.values.entropy import random_hex

MAX_HTTP_BODY = 20 * 1024 * 1024
ROUTER = FunctionPath("http", "default")
_ROUTER_SPEC = FunctionSpec(ROUTER, "action", "public", None, None, None, None)  # type: ignore[arg-type]


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


async def run_http_action(
    runner: FunctionRunner,
    method: str,
    url: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    *,
    identity: Identity,
    origin: RequestOrigin = NO_ORIGIN,
    redact: bool = False,
) -> HttpResponse:
    """Route and run one request; a handler that throws is a 500 with Convex's body."""
    deployment = runner.deployment()
    if not deployment.http_routes() and not _has_router(deployment):
        return _no_route(path)
    request_id = random_hex(8)
    started = time.time()
    request = {
        "method": method,
        "url": url,
        "headers": [[k, v] for k, v in headers],
        "body": body,
    }
    ctx = CallContext(runner, deployment, _ROUTER_SPEC, identity, request_id, origin=origin)
    from bayou.runner.action_syscalls import ActionSyscalls

    req = CallRequest(ROUTER, request, None, identity, request_id, caller="HttpEndpoint")
    try:
        out = await runner.invoke(
            ctx,
            _ROUTER_SPEC,
            "action",
            request,
            ActionSyscalls(ctx),
            runner.limits.action_timeout_s,
        )
    except BayouError as e:
        result = CallResult(ok=False, udf_type="httpAction", error_message=e.message)
        result.request_id = request_id
        runner.record(req, result, started, f"{method} {path}")
        return _server_error(result, redact)
    result = CallResult(ok=out.ok, udf_type="httpAction", log_lines=out.log_lines)
    result.request_id = request_id
    if not out.ok:
        result.error_message = out.error_message
        runner.record(req, result, started, f"{method} {path}")
        return _server_error(result, redact)
    answer: Any = vjson.loads(out.value_json or "null")
    routed = answer.get("routedPath") if isinstance(answer, dict) else None
    runner.record(req, result, started, f"{method} {routed or path}")
    return HttpResponse(
        int(answer["status"]),
        [(str(k), str(v)) for k, v in answer.get("headers") or []],
        answer.get("body") or b"",
    )


def _has_router(deployment: Any) -> bool:
    return any(m.path in ("http.js", "http.py") for m in deployment.modules)


def _no_route(path: str) -> HttpResponse:
    return HttpResponse(
        404,
        [("content-type", "text/plain;charset=UTF-8")],
        f"No HttpAction routed for {path}".encode(),
    )


def _server_error(result: CallResult, redact: bool) -> HttpResponse:
    """Convex's answer to a handler that threw: 500, `{"code": "[Request ID: …] Server
    Error: <message>", "trace": <whole error>}` (only the code when logs are redacted)."""
    message = (result.error_message or "").rstrip("\n")
    head = f"[Request ID: {result.request_id}] Server Error"
    body: dict[str, Any] = {
        "code": head if redact else f"{head}: {message.splitlines()[0] if message else ''}"
    }
    if not redact:
        body["trace"] = message + "\n"
    return HttpResponse(
        500, [("content-type", "application/json")], vjson.dumps(vjson.from_json(body))
    )
