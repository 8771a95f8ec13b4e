"""Numbers crossing function boundaries keep their Python type."""

from typing import Any

from bayou import Int64, action, api, internal, internal_query, mutation, query, v


@query(args={"value": v.any()})
def echo(ctx: Any, value: Any) -> Any:
    return value


@query(args={})
def three(ctx: Any) -> int:
    return 3


@internal_query(args={})
def mixed(ctx: Any) -> Any:
    return {"int": 3, "float": 2.5, "whole_float": 2.0, "int64": Int64(7), "list": [1, 1.5]}


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


@action(args={})
async def through_run_query(ctx: Any) -> Any:
    n = await ctx.run_query(api.numbers.three, {})
    values = await ctx.run_query(internal.numbers.mixed, {})
    echoed = await ctx.run_query(api.numbers.echo, {"value": {"n": 5, "x": 0.5}})
    return {
        "text": f"{n} notes",
        "types": _types(values),
        "echoed": _types(echoed),
    }


@mutation(args={})
def in_mutation(ctx: Any) -> Any:
    n = ctx.run_query(api.numbers.three, {})
    return f"{n} notes"
