"""Text search over notes: prefix, filters, limits, pagination, own writes, bad input."""

from typing import Any

from bayou import MutationCtx, QueryCtx, mutation, query, v

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


@mutation(args={"body": v.string(), "channel": v.string()})
def add(ctx: MutationCtx, body: str, channel: str) -> str:
    return ctx.db.insert("notes", {"body": body, "channel": channel})


@query(
    args={
        "text": v.string(),
        "channel": v.optional(v.string()),
        "limit": v.optional(v.number()),
    }
)
def search(ctx: QueryCtx, text: str, channel: str | None = None, limit: float | None = None) -> Any:
    def terms(q: Any) -> Any:
        q = q.search("body", text)
        return q if channel is None else q.eq("channel", channel)

    docs = ctx.db.query("notes").with_search_index("search_body", terms).take(int(limit or 10))
    return [d["body"] for d in docs]


@query(args={"text": v.string(), "notChannel": v.string()})
def searchThenFilter(ctx: QueryCtx, text: str, notChannel: str) -> Any:
    docs = (
        ctx.db.query("notes")
        .with_search_index("search_body", lambda q: q.search("body", text))
        .filter(lambda q: q.neq(q.field("channel"), notChannel))
        .collect()
    )
    return [d["body"] for d in docs]


@query(args={"text": v.string(), "paginationOpts": PAGINATION_OPTS})
def page(ctx: QueryCtx, text: str, paginationOpts: dict[str, Any]) -> Any:
    result = (
        ctx.db.query("notes")
        .with_search_index("search_body", lambda q: q.search("body", text))
        .paginate(paginationOpts)
    )
    return {**result, "page": [d["body"] for d in result["page"]]}


@mutation(args={"body": v.string(), "text": v.string()})
def addAndSearch(ctx: MutationCtx, body: str, text: str) -> Any:
    ctx.db.insert("notes", {"body": body, "channel": "own"})
    docs = (
        ctx.db.query("notes")
        .with_search_index("search_body", lambda q: q.search("body", text).eq("channel", "own"))
        .collect()
    )
    return [d["body"] for d in docs]


@query(args={"kind": v.string()})
def badSearch(ctx: QueryCtx, kind: str) -> Any:
    q = ctx.db.query("notes")
    if kind == "field":
        return q.with_search_index("search_body", lambda s: s.search("channel", "x")).collect()
    if kind == "filter":
        return q.with_search_index(
            "search_body", lambda s: s.search("body", "x").eq("body", "x")
        ).collect()
    return q.with_search_index("nope", lambda s: s.search("body", "x")).collect()
