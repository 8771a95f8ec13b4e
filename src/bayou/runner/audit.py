"""`log.audit(body)` (`1.0/auditLog`): structured audit lines from queries and mutations.

Bodies may hold `log.vars.*` sentinels (`{"$var": "requestId"}`), resolved here from the
call. The lines of a call and of the functions it calls are written together when the
top-level call ends, one JSON object a line on the `bayou.audit` logger, so a log shipper
can route them apart from the server's own log.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import orjson

from bayou.errors import BadRequest

if TYPE_CHECKING:
    from bayou.runner.function_runner import CallContext, CallRequest, CallResult

MAX_AUDIT_LINES = 500
MAX_AUDIT_LINE_BYTES = 100 * 1024

log = logging.getLogger("bayou.audit")


def audit(ctx: CallContext, args: Any) -> None:
    """Record one audit line for `ctx`'s call (Convex's limits and errors)."""
    if ctx.spec is not None and ctx.spec.udf_type == "action":
        raise BadRequest(
            "Audit logging is not yet supported in actions", code="AuditLogNotSupportedInAction"
        )
    body = args.get("body") if isinstance(args, dict) else None
    if not isinstance(body, dict):
        raise BadRequest("log.audit() needs an object", code="InvalidAuditLog")
    if len(ctx.audit) >= MAX_AUDIT_LINES:
        raise BadRequest(
            f"Function execution exceeded the maximum of {MAX_AUDIT_LINES} audit log lines.",
            code="TooManyAuditLogLines",
        )
    line = _resolve(body, ctx)
    size = len(orjson.dumps(line))
    if size > MAX_AUDIT_LINE_BYTES:
        raise BadRequest(
            f"Audit log line is too large ({size} bytes; at most {MAX_AUDIT_LINE_BYTES}).",
            code="AuditLogLineTooLarge",
        )
    ctx.audit.append(line)


def _resolve(value: Any, ctx: CallContext) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$var" in value:
            return _variable(value["$var"], ctx)
        return {k: _resolve(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, ctx) for v in value]
    return value


def _variable(name: Any, ctx: CallContext) -> Any:
    if name == "requestId":
        return ctx.request_id
    if name == "ip":
        return ctx.origin.ip
    if name == "userAgent":
        return ctx.origin.user_agent
    if name == "now":
        return time.time() * 1000
    if name == "convexActor":
        return _actor(ctx)
    raise BadRequest(f'Unknown audit log variable: "{name}"', code="InvalidAuditLog")


def _actor(ctx: CallContext) -> dict[str, Any] | None:
    identity = ctx.identity
    if identity.admin is not None and identity.admin.member_id is not None:
        return {"kind": "member", "memberId": float(identity.admin.member_id)}
    if identity.kind == "user" and identity.user is not None:
        return {"kind": "token", "tokenIdentifier": identity.user.get("tokenIdentifier")}
    return None


def write_audit_lines(req: CallRequest, result: CallResult, lines: list[dict[str, Any]]) -> None:
    """Write a finished call's audit lines (with the function, request and outcome)."""
    for body in lines:
        log.info(
            orjson.dumps(
                {
                    "function": str(req.path),
                    "requestId": result.request_id,
                    "success": result.ok,
                    "body": body,
                }
            ).decode()
        )
