"""Channels: `channels:create`, `channels:list`, `channels:byName`, internal `channels:stats`."""

from typing import Any

from bayou import ConvexError, MutationCtx, QueryCtx, internal_query, mutation, query, v


@mutation(args={"name": v.string(), "topic": v.optional(v.string())})
def create(ctx: MutationCtx, name: str, topic: str | None = None) -> str:
    existing = ctx.db.query("channels").with_index("by_name", lambda q: q.eq("name", name)).first()
    if existing is not None:
        raise ConvexError({"code": "CHANNEL_EXISTS", "name": name})
    channel: dict[str, Any] = {"name": name, "lastSeq": 0}
    if topic is not None:
        channel["topic"] = topic
    return ctx.db.insert("channels", channel)


@query(args={}, name="list")
def list_channels(ctx: QueryCtx) -> Any:
    channels = ctx.db.query("channels").with_index("by_name").order("asc").collect()
    return [
        {"name": c["name"], "topic": c.get("topic"), "messages": c["lastSeq"]} for c in channels
    ]


@query(args={"name": v.string()}, name="byName")
def by_name(ctx: QueryCtx, name: str) -> Any:
    return ctx.db.query("channels").with_index("by_name", lambda q: q.eq("name", name)).unique()


@internal_query(args={"channel": v.id("channels")})
def stats(ctx: QueryCtx, channel: str) -> Any:
    messages = (
        ctx.db.query("messages")
        .with_index("by_channel_seq", lambda q: q.eq("channel", channel))
        .collect()
    )
    return {"messages": len(messages), "likes": sum(m["likes"] for m in messages)}
