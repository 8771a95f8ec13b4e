"""ConvexError data and messages across nested calls."""

from typing import Any

from bayou import ConvexError, Int64, action, api, query


@query(args={})
def convex_boom(ctx: Any) -> None:
    raise ConvexError({"code": 42, "big": Int64(123)})


@action(args={})
async def catch_convex_boom(ctx: Any) -> Any:
    try:
        await ctx.run_query(api.errors.convex_boom, {})
    except ConvexError as e:
        return {"message": str(e), "code": e.data["code"]}
    return None


@action(args={})
async def call_convex_boom(ctx: Any) -> None:
    await ctx.run_query(api.errors.convex_boom, {})
