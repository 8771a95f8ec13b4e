from typing import Any

from bayou import MutationCtx, QueryCtx, mutation, query, v


@mutation(args={"name": v.string()}, returns=v.id("channels"))
def create(ctx: MutationCtx, name: str) -> str:
    return ctx.db.insert("channels", {"name": name})


@query(args={"id": v.id("channels")})
def get(ctx: QueryCtx, id: str) -> dict[str, Any] | None:
    return ctx.db.get(id)
