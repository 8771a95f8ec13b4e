"""A Python app calling JavaScript components through `components.<name>.<module>.<fn>`."""

from typing import Any

from bayou import MutationCtx, QueryCtx, components, mutation, query, v

SEND_LIMIT = {"kind": "fixed window", "rate": 3, "period": 60_000}


@mutation(args={"page": v.string()})
def visit(ctx: MutationCtx, page: str) -> Any:
    """Record a visit in the app's table and count it in the sharded-counter component."""
    ctx.db.insert("visits", {"page": page})
    ctx.run_mutation(components.shardedCounter.public.add, {"name": page, "count": 1})


@query(args={"page": v.string()})
def visits(ctx: QueryCtx, page: str) -> Any:
    counted = ctx.run_query(components.shardedCounter.public.count, {"name": page})
    rows = ctx.db.query("visits").collect()
    return {"counted": counted, "rows": len([r for r in rows if r["page"] == page])}


@mutation(args={"user": v.string()})
def send(ctx: MutationCtx, user: str) -> Any:
    """Allowed at most 3 times a minute per user (@convex-dev/rate-limiter)."""
    status = ctx.run_mutation(
        components.rateLimiter.lib.rateLimit, {"name": "send", "key": user, "config": SEND_LIMIT}
    )
    return status["ok"]


@mutation(args={"text": v.string()})
def add_note(ctx: MutationCtx, text: str) -> Any:
    return ctx.run_mutation(components.notes.lib.add, {"text": text})


@query(args={})
def notes(ctx: QueryCtx) -> Any:
    return ctx.run_query(components.notes.lib.list, {})


@mutation(args={})
def handle(ctx: MutationCtx) -> Any:
    """A function handle of a component function, called back through the handle."""
    handle = ctx.create_function_handle(components.notes.lib.list)
    return {"handle": handle, "notes": ctx.run_query(handle, {})}
