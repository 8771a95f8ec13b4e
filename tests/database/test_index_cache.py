"""The index range cache: queries answer as storage does, through every kind of write.

Over SQLite an index range's keys are cached while no commit adds or removes a key of
its index; these tests change the data every way a commit can (insert, move an indexed
field, rewrite an unindexed one, delete) and compare every query, at the latest snapshot
and at older ones, with a model of the table.
"""

from __future__ import annotations

import random

from bayou.database.database import Database
from bayou.database.index_cache import IndexRangeCache
from bayou.database.schema_change import apply_schema

from .queries import index, limit
from .test_occ import SCHEMA_BY_N


async def test_cached_index_ranges_answer_as_storage_through_every_kind_of_write(
    db: Database,
) -> None:
    await apply_schema(db, SCHEMA_BY_N)
    rng = random.Random(15)
    model: dict[str, tuple[float, float]] = {}  # id → (n, value)
    history: list[tuple[int, dict[str, tuple[float, float]]]] = []
    created: dict[str, int] = {}

    async def check(ts: int, state: dict[str, tuple[float, float]]) -> None:
        for n in (1.0, 2.0, 3.0):
            for order in ("asc", "desc"):
                for operators in ((), (limit(1),)):
                    query = index("t.by_n", [("Eq", "n", n)], order, *operators)
                    tx = db.begin(read_only=True, ts=ts)
                    got = [(d["_id"], d["value"]) for d in await tx.query(query).collect()]
                    want = sorted(
                        ((i, v) for i, (m, v) in state.items() if m == n),
                        key=lambda item: created[item[0]],  # then by _creationTime
                        reverse=order == "desc",
                    )
                    assert got == want[: 1 if operators else None], (ts, n, order)

    for step in range(80):
        tx = db.begin()
        choice = rng.random()
        if not model or choice < 0.3:
            n = float(rng.randint(1, 3))
            new_id = await tx.insert("t", {"n": n, "value": float(step)})
            model[new_id] = (n, float(step))
            created[new_id] = step
        else:
            target = rng.choice(sorted(model))
            n, value = model[target]
            if choice < 0.5:  # an indexed field changes: keys move
                n = float(rng.randint(1, 3))
                await tx.patch(target, {"n": n})
            elif choice < 0.9:  # only an unindexed field: every key stays
                value = float(step)
                await tx.patch(target, {"value": value})
            else:
                await tx.delete(target)
                del model[target]
                target = None
            if target is not None:
                model[target] = (n, value)
        await db.commit(tx)
        history.append((db.latest_ts, dict(model)))
        await check(db.latest_ts, model)
        await check(db.latest_ts, model)  # a second time: now from the cache where it can
        old_ts, old_state = rng.choice(history)
        await check(old_ts, old_state)
    if db.persistence.local_reads:
        assert db.index_ranges.hits > 0


def test_an_entry_stops_answering_once_its_index_gains_or_loses_a_key() -> None:
    cache = IndexRangeCache()
    key = (b"index", b"a", b"b", "asc", 1)
    keys = [(b"a1", b"doc")]
    cache.fill(key, 10, keys)
    assert cache.lookup(key, 9) is None  # older than what it knows
    assert cache.lookup(key, 10) is keys
    assert cache.lookup(key, 20) is keys
    cache.publish_moves([(b"other", 30)])
    assert cache.lookup(key, 40) is keys
    cache.publish_moves([(b"index", 30)])
    assert cache.lookup(key, 40) is None
    cache.fill(key, 25, keys)  # a read from before the move is not kept
    assert cache.lookup(key, 40) is None
    cache.fill(key, 30, keys)
    assert cache.lookup(key, 40) is keys
