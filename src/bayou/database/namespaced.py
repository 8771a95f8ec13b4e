"""One transaction seen from another table namespace (a component's).

A mutation that calls `ctx.runMutation(components.counter.lib.add, …)` runs the
component's function in the caller's transaction (db-semantics.md §5): the same snapshot,
read set, buffered writes and limits, but table names, ids and the schema resolve in the
component's namespace. `in_namespace(tx, ns)` gives that view without copying anything:
every attribute but `namespace` is the underlying transaction's, read and written through.
"""

from __future__ import annotations

from typing import Any

from bayou.database.transaction import Transaction

_OWN = frozenset({"_base", "namespace"})


class NamespacedTransaction(Transaction):
    """`Transaction`'s methods over another transaction's state, in `namespace`."""

    def __init__(self, base: Transaction, namespace: str) -> None:  # no super(): a view
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "namespace", namespace)

    def __getattr__(self, name: str) -> Any:
        # Only called for what the view itself lacks: the base's instance attributes.
        return getattr(object.__getattribute__(self, "_base"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(object.__getattribute__(self, "_base"), name, value)

    @property
    def base(self) -> Transaction:
        return object.__getattribute__(self, "_base")


def in_namespace(tx: Transaction, namespace: str) -> Transaction:
    """`tx` as functions of the component whose tables live in `namespace` see it."""
    if tx.namespace == namespace:
        return tx
    if isinstance(tx, NamespacedTransaction):
        tx = tx.base
        if tx.namespace == namespace:
            return tx
    return NamespacedTransaction(tx, namespace)
