"""Messages, numbered per channel: index ranges, filters, pagination, validators, errors."""

from typing import Any

from bayou import ConvexError, MutationCtx, QueryCtx, internal_mutation, mutation, query, v

# The same validator as `paginationOptsValidator` of the npm package `convex/server`.
PAGINATION_OPTS = v.object(
    {
        "numItems": v.number(),
        "cursor": v.union(v.string(), v.null()),
        "endCursor": v.optional(v.union(v.string(), v.null())),
        "id": v.optional(v.number()),
        "maximumRowsRead": v.optional(v.number()),
        "maximumBytesRead": v.optional(v.number()),
    }
)


@mutation(args={"channel": v.id("channels"), "author": v.id("users"), "body": v.string()})
def send(ctx: MutationCtx, channel: str, author: str, body: str) -> Any:
    text = body.strip()
    if text == "":
        raise ConvexError({"code": "EMPTY_MESSAGE"})
    target = ctx.db.get(channel)
    if target is None:
        raise ConvexError({"code": "NO_SUCH_CHANNEL", "channel": channel})
    user = ctx.db.get(author)
    if user is None:
        raise ConvexError({"code": "NO_SUCH_USER", "author": author})
    seq = target["lastSeq"] + 1
    ctx.db.patch(channel, {"lastSeq": seq})
    id = ctx.db.insert(
        "messages", {"channel": channel, "author": author, "body": text, "seq": seq, "likes": 0}
    )
    print(f"message {seq:g} in {target['name']} by {user['name']}")
    return {"id": id, "seq": seq}


@query(args={"channel": v.id("channels"), "limit": v.optional(v.number())}, name="list")
def list_messages(ctx: QueryCtx, channel: str, limit: float | None = None) -> Any:
    messages = (
        ctx.db.query("messages")
        .with_index("by_channel_seq", lambda q: q.eq("channel", channel))
        .order("desc")
        .take(int(limit if limit is not None else 20))
    )
    return [{"seq": m["seq"], "body": m["body"], "likes": m["likes"]} for m in messages]


@query(args={"channel": v.id("channels"), "from": v.number(), "to": v.number()})
def range(ctx: QueryCtx, channel: str, **bounds: float) -> Any:
    # `from` is a Python keyword: the bounds arrive as keyword arguments.
    messages = (
        ctx.db.query("messages")
        .with_index(
            "by_channel_seq",
            lambda q: q.eq("channel", channel).gte("seq", bounds["from"]).lt("seq", bounds["to"]),
        )
        .collect()
    )
    return [m["body"] for m in messages]


@query(args={"channel": v.id("channels"), "minLikes": v.number()})
def popular(ctx: QueryCtx, channel: str, minLikes: float) -> Any:
    messages = (
        ctx.db.query("messages")
        .with_index("by_channel_seq", lambda q: q.eq("channel", channel))
        .filter(lambda q: q.and_(q.gte(q.field("likes"), minLikes), q.neq(q.field("body"), "")))
        .collect()
    )
    return [{"seq": m["seq"], "likes": m["likes"]} for m in messages]


@query(args={"author": v.id("users"), "channel": v.optional(v.id("channels"))}, name="byAuthor")
def by_author(ctx: QueryCtx, author: str, channel: str | None = None) -> Any:
    messages = ctx.db.query("messages").with_index("by_author", lambda q: q.eq("author", author))
    if channel is not None:
        messages = messages.filter(lambda q: q.eq(q.field("channel"), channel))
    return [m["body"] for m in messages.collect()]


@query(args={"channel": v.id("channels"), "paginationOpts": PAGINATION_OPTS})
def page(ctx: QueryCtx, channel: str, paginationOpts: dict[str, Any]) -> Any:
    result = (
        ctx.db.query("messages")
        .with_index("by_channel_seq", lambda q: q.eq("channel", channel))
        .paginate(paginationOpts)
    )
    return {
        "bodies": [m["body"] for m in result["page"]],
        "isDone": result["isDone"],
        "continueCursor": result["continueCursor"],
    }


@mutation(args={"id": v.id("messages")})
def like(ctx: MutationCtx, id: str) -> float:
    message = ctx.db.get(id)
    if message is None:
        raise ConvexError({"code": "NOT_FOUND"})
    likes = float(message["likes"]) + 1
    ctx.db.patch(id, {"likes": likes})
    return likes


@mutation(args={"id": v.id("messages"), "body": v.string()})
def edit(ctx: MutationCtx, id: str, body: str) -> None:
    message = ctx.db.get(id)
    if message is None:
        raise ConvexError({"code": "NOT_FOUND"})
    ctx.db.replace(id, {**message, "body": body, "likes": 0})


@mutation(args={"id": v.id("messages")})
def remove(ctx: MutationCtx, id: str) -> None:
    ctx.db.delete(id)


@internal_mutation(args={"channel": v.id("channels")})
def purge(ctx: MutationCtx, channel: str) -> int:
    messages = (
        ctx.db.query("messages")
        .with_index("by_channel_seq", lambda q: q.eq("channel", channel))
        .collect()
    )
    for m in messages:
        ctx.db.delete(m["_id"])
    return len(messages)
