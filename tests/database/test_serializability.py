"""Property: random concurrent transactions commit a serializable history.

Each generated transaction reads documents, reads index ranges and equalities (so
phantoms matter), inserts, patches and deletes, with its writes depending on what it read.
They run interleaved on one database; some lose on conflicts. Replaying the committed ones
one at a time in commit-timestamp order against a plain Python model must reproduce
exactly what each of them observed, and the database must end in the model's final state:
the history is serializable, and every acknowledged commit is visible.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayou.database.database import Database
from bayou.database.schema_change import apply_schema
from bayou.errors import OccError

from .queries import index, schema

DOCS = 6
counter = itertools.count()

op = st.one_of(
    st.tuples(st.just("get"), st.integers(0, DOCS - 1)),
    st.tuples(st.just("range"), st.integers(0, 9), st.integers(1, 5)),
    st.tuples(st.just("eq"), st.integers(0, 9)),
    st.tuples(st.just("set"), st.integers(0, DOCS - 1), st.integers(0, 9)),
    st.tuples(st.just("insert"), st.integers(0, 9)),
    st.tuples(st.just("delete"), st.integers(0, DOCS - 1)),
)
transactions = st.lists(st.lists(op, min_size=1, max_size=6), min_size=2, max_size=8)


@dataclass
class Outcome:
    observed: list[Any] = field(default_factory=list)
    ts: int | None = None
    read_only: bool = False


def apply_op(
    state: dict[str, dict[str, float]], o: tuple, observed: list, tx_no: int, op_no: int
) -> tuple:
    """Run one op against `state` (name → {k, v}); returns what it observed."""
    kind = o[0]
    total = sum((x for x in observed if isinstance(x, float)), 0.0)
    if kind == "get":
        doc = state.get(f"d{o[1]}")
        return ("get", None if doc is None else doc["v"])
    if kind == "range":
        lo, hi = float(o[1]), float(o[1] + o[2])
        hits = sorted((d["k"], name, d["v"]) for name, d in state.items() if lo <= d["k"] < hi)
        return ("range", [(name, v) for _, name, v in hits])
    if kind == "eq":
        return ("eq", sorted((name, d["v"]) for name, d in state.items() if d["k"] == o[1]))
    if kind == "set":
        name = f"d{o[1]}"
        if name not in state:
            return ("set", "missing")
        state[name] = {"k": float(o[2]), "v": total + 1.0}
        return ("set", "ok")
    if kind == "insert":
        state[f"n{tx_no}_{op_no}"] = {"k": float(o[1]), "v": total}
        return ("insert", "ok")
    name = f"d{o[1]}"
    if name not in state:
        return ("delete", "missing")
    del state[name]
    return ("delete", "ok")


async def run_in_db(
    db: Database, table: str, ids: dict[str, str], tx_no: int, ops: list, seed: int
) -> Outcome:
    rng = random.Random(seed)
    out = Outcome()
    tx = db.begin()
    names: dict[str, str] = {}
    for op_no, o in enumerate(ops):
        await asyncio.sleep(0) if rng.random() < 0.7 else None
        kind = o[0]
        total = sum((x for x in (v for _, v in out.observed) if isinstance(x, float)), 0.0)
        if kind == "get":
            doc = await tx.get(ids[f"d{o[1]}"])
            out.observed.append(("get", None if doc is None else doc["v"]))
        elif kind == "range":
            q = index(f"{table}.by_k", [("Gte", "k", float(o[1])), ("Lt", "k", float(o[1] + o[2]))])
            docs = await tx.query(q).collect()
            out.observed.append(("range", [(d["name"], d["v"]) for d in docs]))
        elif kind == "eq":
            docs = await tx.query(index(f"{table}.by_k", [("Eq", "k", float(o[1]))])).collect()
            out.observed.append(("eq", sorted((d["name"], d["v"]) for d in docs)))
        elif kind == "set":
            id = ids[f"d{o[1]}"]
            if await tx.get(id) is None:
                out.observed.append(("set", "missing"))
            else:
                await tx.patch(id, {"k": float(o[2]), "v": total + 1.0})
                out.observed.append(("set", "ok"))
        elif kind == "insert":
            name = f"n{tx_no}_{op_no}"
            names[name] = await tx.insert(table, {"name": name, "k": float(o[1]), "v": total})
            out.observed.append(("insert", "ok"))
        else:
            id = ids[f"d{o[1]}"]
            if await tx.get(id) is None:
                out.observed.append(("delete", "missing"))
            else:
                await tx.delete(id)
                out.observed.append(("delete", "ok"))
    out.read_only = not tx.writes
    try:
        out.ts = await db.commit(tx)
    except OccError:
        out.ts = None
    return out


def replay(initial: dict, ops: list, tx_no: int) -> tuple[dict, list]:
    state = {k: dict(v) for k, v in initial.items()}
    observed: list = []
    for op_no, o in enumerate(ops):
        kind, result = apply_op(state, o, [v for _, v in observed], tx_no, op_no)
        observed.append((kind, result))
    return state, observed


async def check_history(db: Database, txs: list[list[tuple]], seed: int) -> None:
    table = f"acc{next(counter)}"
    await apply_schema(db, schema({table: {"indexes": {"by_k": ["k"]}}}, validation=False))
    setup = db.begin()
    ids: dict[str, str] = {}
    state: dict[str, dict[str, float]] = {}
    for i in range(DOCS):
        ids[f"d{i}"] = await setup.insert(table, {"name": f"d{i}", "k": float(i), "v": float(i)})
        state[f"d{i}"] = {"k": float(i), "v": float(i)}
    await db.commit(setup)

    outcomes = await asyncio.gather(
        *(run_in_db(db, table, ids, n, ops, seed + n) for n, ops in enumerate(txs))
    )
    # A read-only transaction "commits" at its snapshot: after the commit at that ts.
    committed = sorted((o.ts, o.read_only, n) for n, o in enumerate(outcomes) if o.ts is not None)
    assert committed, "at least one transaction must commit"
    for _, _, n in committed:
        # Read-only transactions commit at their snapshot; they must fit there too.
        state, observed = replay(state, txs[n], n)
        assert observed == outcomes[n].observed, (
            f"transaction {n} is not serializable in commit order"
        )

    final = await db.begin().query(index(f"{table}.by_k", [])).collect()
    assert sorted((d["name"], d["k"], d["v"]) for d in final) == sorted(
        (name, d["k"], d["v"]) for name, d in state.items()
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(txs=transactions, seed=st.integers(0, 2**16))
async def test_concurrent_transactions_are_serializable(db: Database, txs, seed) -> None:
    await check_history(db, txs, seed)
