"""Vector search from actions: cosine scores, limits, filters, freshness, bad input."""

from typing import Any

from bayou import ActionCtx, MutationCtx, QueryCtx, action, api, mutation, query, v


@mutation(args={"text": v.string(), "kind": v.string(), "vector": v.array(v.float64())})
def add(ctx: MutationCtx, text: str, kind: str, vector: list[float]) -> str:
    return ctx.db.insert("embeddings", {"text": text, "kind": kind, "vector": vector})


@query(args={"ids": v.array(v.id("embeddings"))})
def texts(ctx: QueryCtx, ids: list[str]) -> Any:
    return [(doc or {}).get("text") for doc in (ctx.db.get(i) for i in ids)]


@action(
    args={
        "vector": v.array(v.float64()),
        "limit": v.optional(v.number()),
        "kinds": v.optional(v.array(v.string())),
    }
)
def similar(
    ctx: ActionCtx,
    vector: list[float],
    limit: float | None = None,
    kinds: list[str] | None = None,
) -> Any:
    search: dict[str, Any] = {"vector": vector}
    if limit is not None:
        search["limit"] = limit
    if kinds is not None:
        search["filter"] = lambda q: q.or_(*[q.eq("kind", k) for k in kinds])
    results = ctx.vector_search("embeddings", "by_vector", search)
    texts = ctx.run_query(api.embeddings.texts, {"ids": [r["_id"] for r in results]})
    return [{"text": t, "score": r["_score"]} for r, t in zip(results, texts, strict=True)]


@action(args={"text": v.string(), "vector": v.array(v.float64())})
def addAndFind(ctx: ActionCtx, text: str, vector: list[float]) -> bool:
    new_id = ctx.run_mutation(api.embeddings.add, {"text": text, "kind": "new", "vector": vector})
    results = ctx.vector_search(
        "embeddings",
        "by_vector",
        {"vector": vector, "limit": 1, "filter": lambda q: q.eq("kind", "new")},
    )
    return results[0]["_id"] == new_id
