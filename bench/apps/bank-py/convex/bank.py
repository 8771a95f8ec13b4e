"""Read two accounts, write both: the transfer workload of the benchmarks, in Python.
Function for function the same as bench/apps/bank/convex/bank.ts."""

from typing import Any

from bayou import MutationCtx, QueryCtx, mutation, query, v


@mutation(args={"from": v.id("accounts"), "to": v.id("accounts"), "amount": v.number()})
def transfer(ctx: MutationCtx, to: str, amount: float, **source: str) -> None:
    # `from` is a Python keyword: it arrives in **source.
    a = ctx.db.get(source["from"])
    b = ctx.db.get(to)
    if a is None or b is None:
        raise Exception("no such account")
    ctx.db.patch(source["from"], {"balance": a["balance"] - amount})
    ctx.db.patch(to, {"balance": b["balance"] + amount})


@mutation(args={"first": v.number(), "count": v.number()})
def seed(ctx: MutationCtx, first: float, count: float) -> list[str]:
    return [
        ctx.db.insert("accounts", {"n": n, "balance": 1000})
        for n in range(int(first), int(first + count))
    ]


@query(args={})
def total(ctx: QueryCtx) -> Any:
    return sum(a["balance"] for a in ctx.db.query("accounts"))
