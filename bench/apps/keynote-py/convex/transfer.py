"""`transfer:transfer`, function for function the keynote-2 harness's
convex-app/convex/transfer.ts `transfer` (bench/apps/keynote-convex): read both accounts by
the `by_account_id` index with `.first()`, stop when an account is missing or the balance
is short, then patch both. (The harness's `transfer_sharded`, unused by its runs, is left
out.)"""

from bayou import MutationCtx, mutation, v


@mutation(args={"amount": v.number(), "from_id": v.number(), "to_id": v.number()})
def transfer(ctx: MutationCtx, amount: float, from_id: float, to_id: float) -> None:
    if from_id == to_id or amount <= 0:
        return

    source = ctx.db.query("accounts").with_index("by_account_id", lambda q: q.eq("id", from_id))
    sender = source.first()
    target = ctx.db.query("accounts").with_index("by_account_id", lambda q: q.eq("id", to_id))
    receiver = target.first()

    if sender is None or receiver is None:
        return

    from_balance = sender.get("balance") or 0
    to_balance = receiver.get("balance") or 0

    # prevent negative balances
    if from_balance < amount:
        return

    ctx.db.patch(sender["_id"], {"balance": from_balance - amount})
    ctx.db.patch(receiver["_id"], {"balance": to_balance + amount})
