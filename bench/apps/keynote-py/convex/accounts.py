"""`accounts:get_account` and `accounts:get_stats` of the keynote-2 harness's
convex-app/convex/accounts.ts, in Python."""

from typing import Any

from bayou import QueryCtx, query, v


@query(args={"id": v.number()})
def get_account(ctx: QueryCtx, id: float) -> dict[str, Any] | None:
    row = ctx.db.query("accounts").with_index("by_account_id", lambda q: q.eq("id", id)).unique()
    if row is None:
        return None
    return {"id": row["id"], "balance": row["balance"]}


@query(args={"initialBalance": v.number()})
def get_stats(ctx: QueryCtx, initialBalance: float) -> dict[str, float]:
    count = total = changed = 0.0
    for row in ctx.db.query("accounts").collect():
        count += 1
        total += row["balance"]
        if row["balance"] != initialBalance:
            changed += 1
    return {"count": count, "total": total, "changed": changed}
