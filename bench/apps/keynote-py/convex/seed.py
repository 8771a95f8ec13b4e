"""`seed:seed_range` and `seed:clear_accounts` of the keynote-2 harness's
convex-app/convex/seed.ts, in Python."""

from bayou import MutationCtx, mutation, v


@mutation(args={})
def clear_accounts(ctx: MutationCtx) -> int:
    batch = 4_000  # limit is 4k
    docs = ctx.db.query("accounts").take(batch)
    for doc in docs:
        ctx.db.delete(doc["_id"])
    return len(docs)


@mutation(args={"start": v.number(), "count": v.number(), "initial": v.number()})
def seed_range(ctx: MutationCtx, start: float, count: float, initial: float) -> None:
    for i in range(int(start), int(start + count)):
        ctx.db.insert("accounts", {"id": i, "balance": initial})
