"""`ctx.scheduler` syscalls: `1.0/schedule`, `1.0/cancel_job` in mutations (part of the
mutation's transaction: the job exists iff it commits, an OCC retry schedules nothing
twice) and `1.0/actions/schedule`, `1.0/actions/cancel_job` in actions (each its own
transaction). Checks and texts are Convex's (`validate_schedule_args`,
`check_scheduling_limits`); arguments are also validated against the target's validator
when scheduled, so a bad call fails where it is made rather than later in the job.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bayou.database.namespaced import in_namespace
from bayou.database.retry import run_transaction
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest
from bayou.model import scheduled_functions as jobs
from bayou.values import json as vjson
from bayou.values.limits import check_value

if TYPE_CHECKING:
    from bayou.runner.function_runner import CallContext


async def schedule(ctx: CallContext, tx: Transaction, args: Any) -> str:
    """Insert the job `args` describes into `tx`; returns its id."""
    from bayou.runner.references import resolve

    if not isinstance(args, dict):
        raise BadRequest("schedule needs an object of arguments", code="InvalidSyscall")
    target = resolve(ctx.deployment, ctx.component, args)
    path = target.path
    code = ctx.deployment.code(target.component) or ctx.code
    ts = args.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, (int, float)) or ts != ts:
        raise BadRequest("The scheduled time must be a number of seconds", code="InvalidSyscall")
    scheduled_ms = float(ts) * 1000.0
    now_ms = time.time() * 1000.0
    if scheduled_ms - now_ms > jobs.MAX_SCHEDULE_DISTANCE_MS:
        raise BadRequest(
            f"{_when(scheduled_ms)} is more than 5 years in the future",
            code="InvalidScheduledFunctionDelay",
        )
    if now_ms - scheduled_ms > jobs.MAX_SCHEDULE_DISTANCE_MS:
        raise BadRequest(
            f"{_when(scheduled_ms)} is more than 5 years in the past",
            code="InvalidScheduledFunctionDelay",
        )
    spec = code.function(path)
    if spec is not None and target.across and spec.visibility == "internal":
        spec = None  # a component exports its public functions only
    module = path.module + ".js"
    if spec is None:
        modules = {m.path.removesuffix(".py").removesuffix(".js") for m in code.modules}
        if path.module not in modules:
            raise BadRequest(
                f"Attempted to schedule function at nonexistent path: {module}",
                code="InvalidScheduledFunction",
            )
        raise BadRequest(
            f"Attempted to schedule function, but no exported function {path.name} found in "
            f"the file: {module}. Did you forget to export it?",
            code="InvalidScheduledFunction",
        )
    if spec.udf_type not in ("mutation", "action"):
        raise BadRequest(
            f"Attempted to schedule {path.canonical}, which is a {spec.udf_type_name}: only "
            "mutations and actions can be scheduled.",
            code="InvalidScheduledFunction",
        )
    call_args = vjson.from_json(args.get("args") or {})
    call_args = ctx.runner.check_call_args(spec, call_args, target.component)
    size = check_value(call_args)
    if tx.functions_scheduled >= jobs.MAX_SCHEDULED_PER_TRANSACTION:
        raise BadRequest(
            "Too many functions scheduled by this mutation (limit: "
            f"{jobs.MAX_SCHEDULED_PER_TRANSACTION})",
            code="TooManyFunctionsScheduled",
        )
    if tx.scheduled_args_bytes + size > jobs.MAX_SCHEDULED_ARGS_BYTES:
        raise BadRequest(
            "Too large total size of the arguments of scheduled functions from this mutation "
            f"(limit: {jobs.MAX_SCHEDULED_ARGS_BYTES} bytes)",
            code="ScheduledFunctionsArgumentsTooLarge",
        )
    tx.functions_scheduled += 1
    tx.scheduled_args_bytes += size
    # A job scheduled by a job that was canceled meanwhile is created canceled (Convex).
    canceled = ctx.scheduled_job is not None and await jobs.is_canceled(tx, ctx.scheduled_job)
    return await jobs.insert(
        tx,
        path.canonical,
        call_args,
        scheduled_ms,
        canceled=canceled,
        now_ms=now_ms,
        component=target.component,
    )


async def cancel(ctx: CallContext, tx: Transaction, args: Any) -> None:
    job_id = args.get("id") if isinstance(args, dict) else None
    running_self = ctx.scheduled_job is not None and job_id == ctx.scheduled_job
    if running_self and ctx.spec is not None and ctx.spec.udf_type == "mutation":
        raise BadRequest(
            "A scheduled mutation cannot cancel itself", code="InvalidScheduledFunction"
        )
    await jobs.cancel(tx, job_id, time.time() * 1000.0)  # type: ignore[arg-type]


async def schedule_from_action(ctx: CallContext, args: Any) -> str:
    """`1.0/actions/schedule`: the job commits at once, in its own transaction."""

    async def write(tx: Transaction) -> str:
        tx.functions_scheduled = ctx.actions_scheduled
        return await schedule(ctx, in_namespace(tx, ctx.component), args)

    job_id, _ = await run_transaction(ctx.runner.db, write)
    ctx.actions_scheduled += 1
    return job_id


async def cancel_from_action(ctx: CallContext, args: Any) -> None:
    async def write(tx: Transaction) -> None:
        await cancel(ctx, in_namespace(tx, ctx.component), args)

    await run_transaction(ctx.runner.db, write)


def _when(ms: float) -> str:
    """How Rust prints the `UnixTimestamp` of an error: seconds since the epoch."""
    return f"UnixTimestamp({ms / 1000.0:.6f}s)"
