"""Users: `users:create`, `users:get`, `users:byEmail`, `users:list`, internal `users:rename`."""

from typing import Any

from bayou import ConvexError, MutationCtx, QueryCtx, internal_mutation, mutation, query, v


@mutation(args={"name": v.string(), "email": v.string()})
def create(ctx: MutationCtx, name: str, email: str) -> str:
    if name.strip() == "":
        raise ConvexError("A user needs a name")
    existing = ctx.db.query("users").with_index("by_email", lambda q: q.eq("email", email)).unique()
    if existing is not None:
        raise ConvexError({"code": "EMAIL_TAKEN", "email": email})
    return ctx.db.insert("users", {"name": name, "email": email})


@query(args={"id": v.id("users")})
def get(ctx: QueryCtx, id: str) -> Any:
    return ctx.db.get(id)


@query(args={"email": v.string()}, name="byEmail")
def by_email(ctx: QueryCtx, email: str) -> Any:
    return ctx.db.query("users").with_index("by_email", lambda q: q.eq("email", email)).unique()


@query(args={}, name="list")
def list_users(ctx: QueryCtx) -> Any:
    users = ctx.db.query("users").with_index("by_name").collect()
    return [{"name": u["name"], "email": u["email"]} for u in users]


@internal_mutation(args={"id": v.id("users"), "name": v.string()})
def rename(ctx: MutationCtx, id: str, name: str) -> None:
    ctx.db.patch(id, {"name": name})
