"""An action that writes a row every 100 ms until it is stopped."""

import asyncio
from typing import Any

from bayou import action, api, mutation, query, v


@mutation(args={"run": v.string()})
def tick(ctx: Any, run: str) -> None:
    ctx.db.insert("ticks", {"run": run})


@query(args={"run": v.string()})
def count(ctx: Any, run: str) -> int:
    return len(ctx.db.query("ticks").with_index("by_run", lambda q: q.eq("run", run)).collect())


@action(args={"run": v.string()})
async def tick_forever(ctx: Any, run: str) -> None:
    while True:
        await ctx.run_mutation(api.ticks.tick, {"run": run})
        await asyncio.sleep(0.1)
