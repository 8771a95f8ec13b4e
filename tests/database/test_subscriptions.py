"""The subscription index finds exactly the read sets a commit's keys fall into."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bayou.database.database import Database
from bayou.database.read_set import ReadSet
from bayou.database.subscriptions import SubscriptionIndex

from .queries import field, index, lit, scan, schema, where
from .test_transaction import insert

keys = st.binary(min_size=0, max_size=3)
intervals = st.lists(
    st.tuples(st.sampled_from([b"i1", b"i2"]), keys, st.one_of(st.none(), keys), st.booleans()),
    max_size=6,
)


def build(spec) -> ReadSet:
    rs = ReadSet()
    for index_id, start, end, point in spec:
        if point:
            rs.add_point(index_id, start)
        else:
            rs.add(index_id, start, end)
    return rs


@settings(max_examples=200, deadline=None)
@given(
    subs=st.lists(intervals, max_size=12),
    removed=st.sets(st.integers(0, 11)),
    writes=st.lists(st.tuples(st.sampled_from([b"i1", b"i2"]), keys), max_size=6),
)
def test_invalidation_matches_a_brute_force_check(subs, removed, writes) -> None:
    index = SubscriptionIndex()
    read_sets = {}
    for i, spec in enumerate(subs):
        read_sets[i] = build(spec)
        index.add(i, read_sets[i])
    for i in removed:
        index.remove(i)
        read_sets.pop(i, None)
    expected = {i for i, rs in read_sets.items() if rs.touched_by(writes) is not None}
    assert index.invalidated_by(writes) == expected


async def test_a_commit_invalidates_only_the_queries_it_changes(db: Database) -> None:
    from bayou.database.schema_change import apply_schema

    await apply_schema(db, schema({"m": {"indexes": {"by_c": ["c"]}}}, validation=False))
    a = await insert(db, "m", {"c": "a", "body": "x"})
    await insert(db, "m", {"c": "b", "body": "y"})
    await insert(db, "other", {"x": 1.0})
    subs = SubscriptionIndex()
    queries = {
        "channel_a": index("m.by_c", [("Eq", "c", "a")]),
        "channel_b": index("m.by_c", [("Eq", "c", "b")]),
        "all": scan("m"),
        "filtered": scan("m", "asc", where({"$eq": [field("c"), lit("zzz")]})),
        "other": scan("other"),
    }
    for name, q in queries.items():
        tx = db.begin(read_only=True)
        await tx.query(q).collect()
        subs.add(name, tx.finalize_reads())
    tx = db.begin(read_only=True)
    await tx.get(a)
    subs.add("get_a", tx.finalize_reads())

    seen: list = []
    db.add_commit_listener(lambda entries: seen.append(subs.invalidated_by_entries(entries)))
    tx = db.begin()
    await tx.patch(a, {"body": "edited"})
    await db.commit(tx)
    assert seen[-1] == {"channel_a", "all", "filtered", "get_a"}

    await insert(db, "m", {"c": "b", "body": "new"})
    assert seen[-1] == {"channel_b", "all", "filtered"}


async def test_a_read_set_stays_valid_until_a_commit_writes_into_it(db: Database) -> None:
    a = await insert(db, "m", {"v": 1.0})
    reader = db.begin(read_only=True)
    await reader.get(a)
    reads, start = reader.finalize_reads(), reader.begin_ts
    await insert(db, "m", {"v": 2.0})  # a different document: still valid
    assert db.write_log.is_valid(reads, start, db.latest_ts)
    middle = db.latest_ts
    tx = db.begin()
    await tx.patch(a, {"v": 3.0})
    await db.commit(tx)
    assert not db.write_log.is_valid(reads, start, db.latest_ts)
    assert db.write_log.is_valid(reads, start, middle)


@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.integers(0, 40), intervals),
            st.tuples(st.just("remove"), st.integers(0, 40)),
            st.tuples(
                st.just("stab"),
                st.lists(st.tuples(st.sampled_from([b"i1", b"i2"]), keys), max_size=4),
            ),
        ),
        max_size=120,
    )
)
def test_invalidation_stays_exact_through_any_sequence_of_changes(ops) -> None:
    index = SubscriptionIndex()
    live: dict[int, ReadSet] = {}
    for op in ops:
        if op[0] == "add":
            live[op[1]] = build(op[2])
            index.add(op[1], live[op[1]])
        elif op[0] == "remove":
            index.remove(op[1])
            live.pop(op[1], None)
        else:
            expected = {i for i, rs in live.items() if rs.touched_by(op[1]) is not None}
            assert index.invalidated_by(op[1]) == expected


def test_removed_and_replaced_ranges_stop_matching_before_the_next_rebuild() -> None:
    index = SubscriptionIndex()
    for i in range(40):
        rs = ReadSet()
        rs.add(b"i1", bytes([i]), bytes([i + 2]))
        index.add(i, rs)
    assert index.invalidated_by([(b"i1", b"\x05")]) == {4, 5}  # built the tree
    index.remove(4)
    moved = ReadSet()
    moved.add(b"i1", b"\x30", b"\x31")
    index.add(5, moved)
    assert index.invalidated_by([(b"i1", b"\x05")]) == set()
    assert index.invalidated_by([(b"i1", b"\x30")]) == {5}
