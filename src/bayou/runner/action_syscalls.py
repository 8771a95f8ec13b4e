"""Syscalls of actions: each `runQuery` / `runMutation` / `runAction` is its own call.

Actions are not transactional (db-semantics.md §5.1): every nested call runs as a
separate function call at the latest timestamp, with the action's identity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from bayou.runner.function_runner import CallRequest, NestedCallFailed, reference_path
from bayou.runtimes.base import InvocationResult
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
            return await self.ctx.runner.shared_syscall(self.ctx, op, args)
        ctx = self.ctx
        identity = ctx.identity
        if not identity.may_call_internal:
            # An action may call internal functions; its user identity still applies.
            from bayou.runner.function_runner import _internal

            identity = _internal(identity)
        result = await ctx.runner.call(
            CallRequest(
                reference_path(args),
                vjson.from_json(args.get("args") or {}),
                kind,  # type: ignore[arg-type]
                identity,
                ctx.request_id,
                caller="Action",
            )
        )
        if not result.ok:
            raise NestedCallFailed(
                InvocationResult(
                    ok=False,
                    error_message=result.error_message,
                    error_data_json=vjson.dumps(result.error_data).decode()
                    if result.has_error_data
                    else None,
                )
            )
        return orjson.Fragment(vjson.dumps(result.value))
