"""`actions:welcome`: an action reading and writing through a query and a mutation."""

import logging
from typing import Any

from bayou import AsyncActionCtx, action, api, internal, v


@action(args={"channel": v.id("channels"), "author": v.id("users")})
async def welcome(ctx: AsyncActionCtx, channel: str, author: str) -> Any:
    before = await ctx.run_query(internal.channels.stats, {"channel": channel})
    sent = await ctx.run_mutation(
        api.messages.send,
        {
            "channel": channel,
            "author": author,
            "body": f"welcome! (message {before['messages'] + 1:g})",
        },
    )
    after = await ctx.run_query(internal.channels.stats, {"channel": channel})
    logging.info("welcomed %g", sent["seq"])
    return {"seq": sent["seq"], "before": before["messages"], "after": after["messages"]}
