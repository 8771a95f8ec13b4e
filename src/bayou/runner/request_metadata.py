"""`ctx.meta.getRequestMetadata()` (`1.0/getRequestMetadata`): who sent the request that
started this call, as Convex reports it to mutations and actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bayou.errors import BadRequest

if TYPE_CHECKING:
    from bayou.runner.function_runner import CallContext


def request_metadata(ctx: CallContext) -> dict[str, Any]:
    """`{ip, userAgent, requestId, scheduledFunctionId, authToken}`; refused in queries
    (their results are cached across requests)."""
    if ctx.spec is not None and ctx.spec.udf_type == "query":
        raise BadRequest("Cannot get request metadata in a Query", code="RequestMetadataNotAllowed")
    identity = ctx.identity
    return {
        "ip": ctx.origin.ip,
        "userAgent": ctx.origin.user_agent,
        "requestId": ctx.request_id,
        "scheduledFunctionId": ctx.scheduled_job,
        # The user's own token only: never an admin key.
        "authToken": identity.token if identity.kind == "user" else None,
    }
