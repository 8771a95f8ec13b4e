"""Syscalls of actions: each `runQuery` / `runMutation` / `runAction` is its own call.

Actions are not transactional (db-semantics.md §5.1): every nested call runs as a
separate function call at the latest timestamp, with the action's identity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from bayou.errors import BadRequest
from bayou.protocol.function_path import FunctionPath
from bayou.runner import references, scheduling, search_syscalls, storage_syscalls
from bayou.runner.function_runner import (
    CallRequest,
    NestedCallFailed,
    raw_args_json,
)
from bayou.values import json as vjson

if TYPE_CHECKING:
    from bayou.runner.function_runner import CallContext

_KINDS = {
    "1.0/actions/query": "query",
    "1.0/actions/mutation": "mutation",
    "1.0/actions/action": "action",
}


class ActionSyscalls:
    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx

    async def async_syscall(self, op: str, args: Any) -> Any:
        kind = _KINDS.get(op)
        if kind is None:
            if op == "1.0/actions/schedule":
                return await scheduling.schedule_from_action(self.ctx, args)
            if op == "1.0/actions/cancel_job":
                return await scheduling.cancel_from_action(self.ctx, args)
            if op == "1.0/actions/vectorSearch":
                return await search_syscalls.vector_search(self.ctx, args)
            if op in storage_syscalls.ACTION_OPS:
                return await storage_syscalls.action_syscall(self.ctx, op, args)
            return await self.ctx.runner.shared_syscall(self.ctx, op, args)
        ctx = self.ctx
        if not isinstance(args, dict):
            raise BadRequest(f"Syscall {op} needs an object of arguments", code="InvalidSyscall")
        target = references.resolve(ctx.deployment, ctx.component, args)
        path = target.path
        code = ctx.deployment.code(target.component)
        if (
            code is not None
            and code.function(path) is None
            and not ctx.code.runs_in_node(ctx.spec.path if ctx.spec else path)
        ):
            # Convex's isolate resolves references against the pushed functions (public
            # and internal) before calling; Node actions get the callee's own error.
            raise BadRequest(f"Couldn't resolve {api_reference(path)}", code="InvalidReference")
        identity = ctx.identity
        if not identity.may_call_internal:
            # An action may call internal functions; its user identity still applies.
            from bayou.runner.function_runner import _internal

            identity = _internal(identity)
        result = await ctx.runner.call(
            CallRequest(
                path,
                vjson.from_json(args.get("args") or {}),
                kind,  # type: ignore[arg-type]
                identity,
                ctx.request_id,
                caller="Action",
                origin=ctx.origin,
                args_json=raw_args_json(args),
                parent_job=ctx.scheduled_job,
                component=target.component,
            ),
            across=target.across,
        )
        if not result.ok:
            raise NestedCallFailed.of_result(result)
        return orjson.Fragment(result.value_json or vjson.dumps(result.value))


def api_reference(path: FunctionPath) -> str:
    """`api.dir.messages.send`: how Convex names a function reference in errors."""
    return ".".join(["api", *path.module.split("/"), path.name])
