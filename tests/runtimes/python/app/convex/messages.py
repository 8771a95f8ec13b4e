"""Messages: index ranges, filters, pagination, validators and errors."""

from __future__ import annotations

import builtins
from typing import Any

from bayou import (
    ConvexError,
    MutationCtx,
    QueryCtx,
    internal_mutation,
    internal_query,
    mutation,
    query,
    v,
)
from bayou.values import UNDEFINED
from convex.lib import helpers

from .lib.helpers import normalize


@query(args={"channel": v.id("channels")})
def list(ctx: QueryCtx, channel: str) -> Any:
    return (
        ctx.db.query("messages")
        .with_index("by_channel", lambda q: q.eq("channel", channel))
        .order("desc")
        .take(50)
    )


@query(args={"channel": v.id("channels"), "author": v.string()})
def by_author(ctx: QueryCtx, channel: str, author: str) -> Any:
    return (
        ctx.db.query("messages")
        .with_index("by_channel_author", lambda q: q.eq("channel", channel).eq("author", author))
        .collect()
    )


@query(args={"min_likes": v.float64()})
def popular(ctx: QueryCtx, min_likes: float) -> Any:
    return (
        ctx.db.query("messages")
        .filter(lambda q: q.and_(q.gte(q.field("likes"), min_likes), q.neq(q.field("body"), "")))
        .collect()
    )


@query(args={"author": v.string()})
def first_by(ctx: QueryCtx, author: str) -> Any:
    return ctx.db.query("messages").filter(lambda q: q.eq(q.field("author"), author)).first()


@query(args={"author": v.string()})
def only_by(ctx: QueryCtx, author: str) -> Any:
    return ctx.db.query("messages").filter(lambda q: q.eq(q.field("author"), author)).unique()


@query(
    args={
        "paginationOpts": v.object(
            {"numItems": v.float64(), "cursor": v.union(v.string(), v.null())}
        )
    }
)
def page(ctx: QueryCtx, paginationOpts: dict[str, Any]) -> Any:
    return ctx.db.query("messages").order("desc").paginate(paginationOpts)


@query(args={})
def summaries(ctx: QueryCtx) -> builtins.list[str]:
    # `list` is this module's query: the builtin is `builtins.list` here.
    out = []
    for doc in ctx.db.query("messages"):
        out.append(helpers.summary(doc))
    return out


@query(args={"text": v.string()})
def search(ctx: QueryCtx, text: str) -> Any:
    return (
        ctx.db.query("messages")
        .with_search_index("search_body", lambda q: q.search("body", text))
        .take(10)
    )


@mutation(
    args={
        "channel": v.id("channels"),
        "author": v.string(),
        "body": v.string(),
        "likes": v.optional(v.float64()),
    },
    returns=v.id("messages"),
)
def send(ctx: MutationCtx, channel: str, author: str, body: str, likes: float | None = None) -> str:
    body = normalize(body)
    if not body:
        raise ConvexError({"code": "EMPTY_MESSAGE", "author": author})
    doc: dict[str, Any] = {"channel": channel, "author": author, "body": body}
    if likes is not None:
        doc["likes"] = likes
    return ctx.db.insert("messages", doc)


@mutation(args={"id": v.id("messages")})
def like(ctx: MutationCtx, id: str) -> float:
    message = ctx.db.get(id)
    if message is None:
        raise ConvexError("NOT_FOUND")
    likes = float(message.get("likes", 0.0)) + 1
    ctx.db.patch(id, {"likes": likes})
    return likes


@mutation(args={"id": v.id("messages")})
def like_and_reread(ctx: MutationCtx, id: str) -> float:
    """A read, a write, and the same read again: what the second read sees after the write."""
    message = ctx.db.get(id)
    if message is None:
        raise ConvexError("NOT_FOUND")
    ctx.db.patch(id, {"likes": float(message.get("likes", 0.0)) + 1})
    again = ctx.db.get(id)
    return float(again["likes"]) if again is not None else -1.0


@mutation(args={"id": v.id("messages")})
def unlike_all(ctx: MutationCtx, id: str) -> None:
    ctx.db.patch("messages", id, {"likes": UNDEFINED})


@mutation(args={"id": v.id("messages"), "body": v.string()})
def rewrite(ctx: MutationCtx, id: str, body: str) -> None:
    old = ctx.db.get("messages", id)
    assert old is not None
    ctx.db.replace(id, {"channel": old["channel"], "author": old["author"], "body": body})


@internal_mutation(args={})
def clear(ctx: MutationCtx) -> float:
    count = 0
    for message in ctx.db.query("messages"):
        ctx.db.delete(message["_id"])
        count += 1
    return count


@internal_query(args={"id": v.id("messages")})
def body_of(ctx: QueryCtx, id: str) -> str | None:
    doc = ctx.db.get(id)
    return None if doc is None else str(doc["body"])


@query(args={"table": v.string(), "id": v.string()})
def normalize_id(ctx: QueryCtx, table: str, id: str) -> str | None:
    return ctx.db.normalize_id(table, id)
