"""Scheduled functions: a reminder sent later, a cancel, and an action run by the scheduler."""

from typing import Any

from bayou import (
    ActionCtx,
    MutationCtx,
    QueryCtx,
    action,
    api,
    internal,
    internal_mutation,
    mutation,
    query,
    v,
)


@mutation(
    args={
        "channel": v.id("channels"),
        "author": v.id("users"),
        "body": v.string(),
        "delayMs": v.number(),
    }
)
def remind(ctx: MutationCtx, channel: str, author: str, body: str, delayMs: float) -> str:
    # Scheduled in this mutation's transaction: the job exists if and only if it commits.
    return ctx.scheduler.run_after(
        delayMs / 1000,
        internal.reminders.deliver,
        {"channel": channel, "author": author, "body": f"reminder: {body}"},
    )


@internal_mutation(args={"channel": v.id("channels"), "author": v.id("users"), "body": v.string()})
def deliver(ctx: MutationCtx, channel: str, author: str, body: str) -> None:
    ctx.run_mutation(api.messages.send, {"channel": channel, "author": author, "body": body})


@mutation(args={"id": v.id("_scheduled_functions")})
def cancel(ctx: MutationCtx, id: str) -> None:
    ctx.scheduler.cancel(id)


@query(args={"id": v.id("_scheduled_functions")})
def job(ctx: QueryCtx, id: str) -> Any:
    return ctx.db.system.get(id)


@action(args={"channel": v.id("channels"), "author": v.id("users")})
def digest(ctx: ActionCtx, channel: str, author: str) -> None:
    stats = ctx.run_query(internal.channels.stats, {"channel": channel})
    ctx.run_mutation(
        api.messages.send,
        {"channel": channel, "author": author, "body": f"digest: {stats['messages']} messages"},
    )


@mutation(args={"channel": v.id("channels"), "author": v.id("users")}, name="scheduleDigest")
def schedule_digest(ctx: MutationCtx, channel: str, author: str) -> str:
    return ctx.scheduler.run_after(0, api.reminders.digest, {"channel": channel, "author": author})


@internal_mutation(args={"cron": v.string()})
def beat(ctx: MutationCtx, cron: str) -> None:
    ctx.db.insert("heartbeats", {"cron": cron})


@query(args={"cron": v.string()})
def heartbeats(ctx: QueryCtx, cron: str) -> int:
    return len(
        ctx.db.query("heartbeats").with_index("by_cron", lambda q: q.eq("cron", cron)).collect()
    )
