"""Values through every boundary between Python functions: nested calls, the scheduler."""

from typing import Any

from bayou import (
    ActionCtx,
    MutationCtx,
    QueryCtx,
    action,
    internal,
    internal_mutation,
    mutation,
    query,
    v,
)
from bayou.values.json import loads

from .typesig import sig


@query(args={"value": v.any()})
def echo(ctx: QueryCtx, value: Any) -> Any:
    return value


@mutation(args={"value": v.any()})
def echo_mutation(ctx: MutationCtx, value: Any) -> Any:
    return value


@action(args={"value": v.any()})
def echo_action(ctx: ActionCtx, value: Any) -> Any:
    return value


@action(args={"text": v.string()})
def through_action(ctx: ActionCtx, text: str) -> Any:
    """Decode `text` (JSON where an integer is an int) and send the value everywhere."""
    value = loads(text, ints=True)
    ctx.scheduler.run_after(0, internal.numbers.record, {"via": "scheduler", "value": value})
    return {
        "sent": sig(value),
        "query": sig(ctx.run_query(internal.numbers.echo, {"value": value})),
        "mutation": sig(ctx.run_mutation(internal.numbers.echo_mutation, {"value": value})),
        "action": sig(ctx.run_action(internal.numbers.echo_action, {"value": value})),
    }


@mutation(args={"text": v.string()})
def through_mutation(ctx: MutationCtx, text: str) -> Any:
    value = loads(text, ints=True)
    return {
        "sent": sig(value),
        "query": sig(ctx.run_query(internal.numbers.echo, {"value": value})),
        "mutation": sig(ctx.run_mutation(internal.numbers.echo_mutation, {"value": value})),
    }


@internal_mutation(args={"via": v.string(), "value": v.any()})
def record(ctx: MutationCtx, via: str, value: Any) -> None:
    ctx.db.insert("received", {"via": via, "types": sig(value), "value": value})
