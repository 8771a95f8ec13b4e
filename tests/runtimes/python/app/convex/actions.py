"""Actions calling queries and mutations (async and sync flavours)."""

from typing import Any

from bayou import ActionCtx, AsyncActionCtx, action, api, internal, v


@action(args={"channel": v.id("channels"), "author": v.string(), "body": v.string()})
async def post_and_read(ctx: AsyncActionCtx, channel: str, author: str, body: str) -> Any:
    message_id = await ctx.run_mutation(
        api.messages.send, {"channel": channel, "author": author, "body": body}
    )
    body_back = await ctx.run_query(internal.messages.body_of, {"id": message_id})
    return {"id": message_id, "body": body_back}


@action(args={"channel": v.id("channels")})
def count_sync(ctx: ActionCtx, channel: str) -> float:
    messages = ctx.run_query("messages:list", {"channel": channel})
    return len(messages)


@action(args={})
async def who(ctx: AsyncActionCtx) -> Any:
    return await ctx.auth.get_user_identity()


@action(args={"channel": v.id("channels")})
async def parallel(ctx: AsyncActionCtx, channel: str) -> Any:
    import asyncio

    first, second = await asyncio.gather(
        ctx.run_query(api.channels.get, {"id": channel}),
        ctx.run_query(api.messages.list, {"channel": channel}),
    )
    return {"channel": first, "count": len(second)}
