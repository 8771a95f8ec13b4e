"""The persistence contract (`bayou.persistence.base`), run against every engine.

Each test takes the `store` (or `engine`) fixture, parametrized over memory, SQLite and
PostgreSQL, so one set of assertions defines the behaviour all engines share. The last
test drives random histories through a trivial in-Python model and an engine side by side.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayou.errors import Conflict
from bayou.persistence import (
    DocumentRevision,
    IndexEntry,
    IndexHit,
    Persistence,
    SqlitePersistence,
)

T = b"T" * 16  # a table id
U = b"U" * 16  # another table
IDX = b"I" * 16  # an index id
IDX2 = b"J" * 16  # another index
BIG_TS = 1_700_000_000_000_000_000  # real timestamps are nanoseconds since the epoch


def did(n: int) -> bytes:
    """A 16-byte internal document id that sorts like `n`."""
    return n.to_bytes(16, "big")


def rev(
    id: bytes, ts: int, value: Any, prev_ts: int | None = None, table: bytes = T
) -> DocumentRevision:
    """A document revision; `value=None` is a tombstone."""
    return DocumentRevision(table, id, ts, None if value is None else orjson.dumps(value), prev_ts)


def entry(
    key: bytes, ts: int, id: bytes | None, index: bytes = IDX, table: bytes = T
) -> IndexEntry:
    """An index entry; `id=None` is a tombstone."""
    return IndexEntry(index, key, ts, table, id)


def keys_of(hits: list[IndexHit]) -> list[bytes]:
    return [h.key for h in hits]


def values_of(hits: list[IndexHit]) -> list[Any]:
    return [orjson.loads(h.revision.value) for h in hits]  # type: ignore[arg-type]


async def insert(store: Persistence, ts: int, docs: dict[bytes, bytes], index: bytes = IDX) -> None:
    """Insert documents `{key: id}` at `ts`, each indexed under its key."""
    await store.write(
        [rev(id, ts, {"k": key.hex()}) for key, id in docs.items()],
        [entry(key, ts, id, index) for key, id in docs.items()],
    )


# -- empty store, documents --------------------------------------------------------------


async def test_empty_store_reads_nothing(store: Persistence) -> None:
    assert await store.max_ts() == 0
    assert await store.get_document(T, did(1), BIG_TS) is None
    assert await store.get_documents([(T, did(1))], BIG_TS) == {}
    assert await store.index_scan(IDX, b"", None, BIG_TS, "asc", 10) == []
    assert await store.scan_table(T, BIG_TS, None, 10) == []
    assert await store.load_globals() == {}


async def test_get_document_returns_newest_revision_at_or_before_the_snapshot(
    store: Persistence,
) -> None:
    a = did(1)
    await store.write([rev(a, 10, {"v": 1})], [])
    await store.write([rev(a, 20, {"v": 2}, prev_ts=10)], [])
    await store.write([rev(a, 30, {"v": 3}, prev_ts=20)], [])
    assert await store.get_document(T, a, 9) is None
    assert await store.get_document(T, a, 10) == rev(a, 10, {"v": 1})
    assert await store.get_document(T, a, 19) == rev(a, 10, {"v": 1})
    assert await store.get_document(T, a, 20) == rev(a, 20, {"v": 2}, prev_ts=10)
    assert await store.get_document(T, a, 29) == rev(a, 20, {"v": 2}, prev_ts=10)
    assert await store.get_document(T, a, BIG_TS) == rev(a, 30, {"v": 3}, prev_ts=20)


async def test_get_document_returns_tombstones(store: Persistence) -> None:
    a = did(1)
    await store.write([rev(a, 10, {"v": 1})], [])
    await store.write([rev(a, 20, None, prev_ts=10)], [])
    assert await store.get_document(T, a, 15) == rev(a, 10, {"v": 1})
    assert await store.get_document(T, a, 20) == DocumentRevision(T, a, 20, None, 10)


async def test_documents_are_per_table(store: Persistence) -> None:
    a = did(1)
    await store.write([rev(a, 10, {"t": "T"}), rev(a, 11, {"t": "U"}, table=U)], [])
    assert await store.get_document(T, a, 20) == rev(a, 10, {"t": "T"})
    assert await store.get_document(U, a, 20) == rev(a, 11, {"t": "U"}, table=U)
    assert await store.get_document(U, a, 10) is None


async def test_get_documents_returns_the_revisions_that_exist_at_the_snapshot(
    store: Persistence,
) -> None:
    a, b, c = did(1), did(2), did(3)
    await store.write([rev(a, 10, 1), rev(b, 10, 2), rev(a, 20, 11, prev_ts=10)], [])
    await store.write([rev(b, 30, None, prev_ts=10), rev(c, 30, 3, table=U)], [])
    keys = [(T, a), (T, b), (T, c), (U, c)]
    assert await store.get_documents(keys, 5) == {}
    assert await store.get_documents(keys, 15) == {(T, a): rev(a, 10, 1), (T, b): rev(b, 10, 2)}
    assert await store.get_documents(keys, 30) == {
        (T, a): rev(a, 20, 11, prev_ts=10),
        (T, b): DocumentRevision(T, b, 30, None, 10),
        (U, c): rev(c, 30, 3, table=U),
    }
    assert await store.get_documents([], 30) == {}


async def test_get_documents_answers_many_keys_at_once(store: Persistence) -> None:
    docs = [rev(did(i), 10 + i % 3, i) for i in range(300)]
    await store.write(docs, [])
    keys = [(T, did(i)) for i in range(0, 400, 2)]  # ids 300.. do not exist
    got = await store.get_documents(keys, 11)
    # Even ids below 300 whose revision (at ts 10, 11 or 12) exists at ts 11.
    assert got == {(T, did(i)): docs[i] for i in range(0, 300, 2) if 10 + i % 3 <= 11}


# -- index scans ---------------------------------------------------------------------------


ODD_KEYS = [
    b"",
    b"\x00",
    b"\x00\x00",
    b"\x01",
    b"a",
    b"a\x00",
    b"a\xff",
    b"ab",
    b"\x7f",
    b"\x80",
    b"\xff",
    b"\xff\xff",
]


async def test_index_scan_orders_keys_as_unsigned_bytes(store: Persistence) -> None:
    await insert(store, 10, {k: did(i) for i, k in enumerate(ODD_KEYS)})
    assert keys_of(await store.index_scan(IDX, b"", None, 10, "asc", 100)) == sorted(ODD_KEYS)
    desc = await store.index_scan(IDX, b"", None, 10, "desc", 100)
    assert keys_of(desc) == sorted(ODD_KEYS, reverse=True)


async def test_index_scan_is_half_open_and_bounded(store: Persistence) -> None:
    await insert(store, 10, {k: did(i) for i, k in enumerate(ODD_KEYS)})
    ordered = sorted(ODD_KEYS)
    assert keys_of(await store.index_scan(IDX, b"a", b"a\xff", 10, "asc", 100)) == [
        b"a",
        b"a\x00",
        b"ab",
    ]
    assert keys_of(await store.index_scan(IDX, b"a", b"a\xff", 10, "desc", 100)) == [
        b"ab",
        b"a\x00",
        b"a",
    ]
    assert keys_of(await store.index_scan(IDX, b"\x01", None, 10, "asc", 100)) == ordered[3:]
    assert keys_of(await store.index_scan(IDX, b"", b"\x01", 10, "desc", 100)) == ordered[2::-1]
    assert await store.index_scan(IDX, b"b", b"b", 10, "asc", 100) == []
    assert await store.index_scan(IDX, b"b", b"a", 10, "asc", 100) == []
    assert await store.index_scan(IDX, b"a\x01", b"a\x02", 10, "asc", 100) == []


async def test_index_scan_limit_takes_from_the_scan_direction(store: Persistence) -> None:
    await insert(store, 10, {bytes([i]): did(i) for i in range(20)})
    assert keys_of(await store.index_scan(IDX, b"", None, 10, "asc", 3)) == [
        b"\x00",
        b"\x01",
        b"\x02",
    ]
    assert keys_of(await store.index_scan(IDX, b"", None, 10, "desc", 2)) == [b"\x13", b"\x12"]
    assert keys_of(await store.index_scan(IDX, b"\x05", b"\x09", 10, "desc", 2)) == [
        b"\x08",
        b"\x07",
    ]
    assert await store.index_scan(IDX, b"", None, 10, "asc", 0) == []


async def test_index_scan_limit_counts_only_live_keys(store: Persistence) -> None:
    await insert(store, 10, {bytes([i]): did(i) for i in range(10)})
    # Delete the first five documents, tombstoning their keys.
    await store.write(
        [rev(did(i), 20, None, prev_ts=10) for i in range(5)],
        [entry(bytes([i]), 20, None) for i in range(5)],
    )
    assert keys_of(await store.index_scan(IDX, b"", None, 20, "asc", 2)) == [b"\x05", b"\x06"]
    assert keys_of(await store.index_scan(IDX, b"", None, 15, "asc", 2)) == [b"\x00", b"\x01"]
    assert keys_of(await store.index_scan(IDX, b"", b"\x06", 20, "desc", 3)) == [b"\x05"]


async def test_index_scan_follows_a_document_whose_key_moved(store: Persistence) -> None:
    a = did(1)
    await store.write([rev(a, 10, {"name": "b"})], [entry(b"b", 10, a)])
    # The update moves the key: the old key is tombstoned and the new one written, same ts.
    await store.write(
        [rev(a, 20, {"name": "y"}, prev_ts=10)], [entry(b"b", 20, None), entry(b"y", 20, a)]
    )
    at_15 = await store.index_scan(IDX, b"", None, 15, "asc", 10)
    assert at_15 == [IndexHit(b"b", rev(a, 10, {"name": "b"}))]
    at_20 = await store.index_scan(IDX, b"", None, 20, "asc", 10)
    assert at_20 == [IndexHit(b"y", rev(a, 20, {"name": "y"}, prev_ts=10))]
    assert await store.index_scan(IDX, b"a", b"c", 25, "desc", 10) == []
    # And back again: the first key is live once more.
    await store.write(
        [rev(a, 30, {"name": "b"}, prev_ts=20)], [entry(b"y", 30, None), entry(b"b", 30, a)]
    )
    assert keys_of(await store.index_scan(IDX, b"", None, 30, "asc", 10)) == [b"b"]
    assert keys_of(await store.index_scan(IDX, b"", None, 29, "asc", 10)) == [b"y"]


async def test_index_hit_carries_the_newest_revision_when_the_key_did_not_change(
    store: Persistence,
) -> None:
    a, b = did(1), did(2)
    await insert(store, 10, {b"ka": a, b"kb": b})
    # Updates that leave the key alone write no index row.
    await store.write([rev(a, 20, {"v": 2}, prev_ts=10)], [])
    await store.write([rev(a, 30, {"v": 3}, prev_ts=20)], [])
    hits = await store.index_scan(IDX, b"", None, 25, "asc", 10)
    assert [h.revision for h in hits] == [
        rev(a, 20, {"v": 2}, prev_ts=10),
        rev(b, 10, {"k": b"kb".hex()}),
    ]
    hits = await store.index_scan(IDX, b"", None, 15, "desc", 10)
    assert [h.revision.ts for h in hits] == [10, 10]
    hits = await store.index_scan(IDX, b"ka", b"kb", BIG_TS, "asc", 10)
    assert hits == [IndexHit(b"ka", rev(a, 30, {"v": 3}, prev_ts=20))]


async def test_index_scan_between_writes_sees_the_earlier_state(store: Persistence) -> None:
    await insert(store, 100, {b"a": did(1)})
    await insert(store, 200, {b"b": did(2)})
    await insert(store, 300, {b"c": did(3)})
    assert keys_of(await store.index_scan(IDX, b"", None, 99, "asc", 10)) == []
    assert keys_of(await store.index_scan(IDX, b"", None, 150, "asc", 10)) == [b"a"]
    assert keys_of(await store.index_scan(IDX, b"", None, 299, "desc", 10)) == [b"b", b"a"]
    assert keys_of(await store.index_scan(IDX, b"", None, 300, "asc", 10)) == [b"a", b"b", b"c"]


async def test_indexes_are_separate(store: Persistence) -> None:
    await insert(store, 10, {b"a": did(1)}, index=IDX)
    await insert(store, 11, {b"b": did(2)}, index=IDX2)
    assert keys_of(await store.index_scan(IDX, b"", None, 20, "asc", 10)) == [b"a"]
    assert keys_of(await store.index_scan(IDX2, b"", None, 20, "asc", 10)) == [b"b"]


def _long_keys() -> list[bytes]:
    """Keys past any btree entry limit that share a 2,600-byte prefix, around the split."""
    shared = b"\x42" * 2600
    keys = [shared + bytes([i]) * (i + 1) + b"\x00" * 600 for i in range(1, 9)]
    # The suffixes must not sort like their SHA-256 digests, or the test would prove little.
    assert sorted(keys) != sorted(keys, key=lambda k: hashlib.sha256(k).digest())
    near_split = [b"\x42" * n for n in (2499, 2500, 2501, 2502)] + [b"\x42" * 2500 + b"\x00"]
    # Random bytes do not compress, so these really are too big for a btree entry.
    rng = random.Random(7)
    noise = rng.randbytes(2600)
    noisy = [noise + rng.randbytes(700) for _ in range(3)] + [rng.randbytes(9000)]
    return keys + near_split + noisy + [b"\x41" * 5000, b"\x43" + b"\xff" * 4000]


async def test_index_scan_handles_keys_longer_than_a_btree_entry(store: Persistence) -> None:
    keys = _long_keys()
    ids = {k: did(i) for i, k in enumerate(keys)}
    await insert(store, 10, ids)
    ordered = sorted(keys)
    assert keys_of(await store.index_scan(IDX, b"", None, 10, "asc", 100)) == ordered
    assert keys_of(await store.index_scan(IDX, b"", None, 10, "desc", 100)) == ordered[::-1]
    for i, j in [(0, 5), (2, 9), (5, 6), (1, 13), (7, 8)]:
        start, end = ordered[i], ordered[j]
        assert keys_of(await store.index_scan(IDX, start, end, 10, "asc", 100)) == ordered[i:j]
        assert (
            keys_of(await store.index_scan(IDX, start, end, 10, "desc", 2))
            == ordered[i:j][::-1][:2]
        )
        assert keys_of(await store.index_scan(IDX, start, end, 10, "asc", 1)) == ordered[i : i + 1]
    # A bound between two long keys that share the prefix.
    mid = ordered[6] + b"\x00"
    assert keys_of(await store.index_scan(IDX, mid, None, 10, "asc", 100)) == ordered[7:]
    assert keys_of(await store.index_scan(IDX, b"", mid, 10, "desc", 100)) == ordered[6::-1]
    # Tombstones and moves work on long keys as on short ones.
    victim = ordered[7]
    await store.write([rev(ids[victim], 20, None, prev_ts=10)], [entry(victim, 20, None)])
    after = await store.index_scan(IDX, b"", None, 20, "asc", 100)
    assert keys_of(after) == ordered[:7] + ordered[8:]
    assert [h.revision.id for h in after] == [ids[k] for k in ordered if k != victim]
    assert keys_of(await store.index_scan(IDX, b"", None, 19, "asc", 100)) == ordered


# -- table scans ---------------------------------------------------------------------------


async def test_scan_table_pages_by_internal_id(store: Persistence) -> None:
    await store.write([rev(did(i), 10, i) for i in (5, 1, 9, 3, 7, 2, 8)], [])
    await store.write([rev(did(100), 10, "other table", table=U)], [])
    page1 = await store.scan_table(T, 10, None, 3)
    assert [d.id for d in page1] == [did(1), did(2), did(3)]
    page2 = await store.scan_table(T, 10, page1[-1].id, 3)
    assert [d.id for d in page2] == [did(5), did(7), did(8)]
    page3 = await store.scan_table(T, 10, page2[-1].id, 3)
    assert page3 == [rev(did(9), 10, 9)]
    assert await store.scan_table(T, 10, did(9), 3) == []


async def test_scan_table_shows_live_documents_at_the_snapshot(store: Persistence) -> None:
    await store.write([rev(did(i), 10, i) for i in range(1, 6)], [])
    await store.write([rev(did(2), 20, None, prev_ts=10), rev(did(4), 20, 44, prev_ts=10)], [])
    await store.write([rev(did(6), 30, 6)], [])
    at_15 = await store.scan_table(T, 15, None, 100)
    assert [d.id for d in at_15] == [did(i) for i in range(1, 6)]
    at_25 = await store.scan_table(T, 25, None, 100)
    assert at_25 == [
        rev(did(1), 10, 1),
        rev(did(3), 10, 3),
        rev(did(4), 20, 44, prev_ts=10),
        rev(did(5), 10, 5),
    ]
    # A deleted document never takes a page slot.
    assert [d.id for d in await store.scan_table(T, 30, did(1), 2)] == [did(3), did(4)]
    assert [d.id for d in await store.scan_table(T, 30, did(5), 10)] == [did(6)]


# -- globals, max_ts -------------------------------------------------------------------------


async def test_globals_are_upserted(store: Persistence) -> None:
    await store.write([], [], {"a": 1, "b": {"x": [1, "two", None]}})
    await store.write([], [], {"a": 2})
    assert await store.load_globals() == {"a": 2, "b": {"x": [1, "two", None]}}
    await store.write([rev(did(1), 10, 1)], [], {"c": "three"})
    assert await store.load_globals() == {"a": 2, "b": {"x": [1, "two", None]}, "c": "three"}


async def test_max_ts_is_the_largest_document_timestamp(store: Persistence) -> None:
    await store.write([rev(did(1), BIG_TS + 5, 1)], [entry(b"a", BIG_TS + 5, did(1))])
    assert await store.max_ts() == BIG_TS + 5
    await store.write([rev(did(2), BIG_TS + 9, 2)], [])
    # An older timestamp written later (e.g. a backfill) does not lower it.
    await store.write([rev(did(3), BIG_TS + 1, 3)], [])
    assert await store.max_ts() == BIG_TS + 9


# -- write semantics -------------------------------------------------------------------------


async def test_a_write_that_fails_midway_leaves_nothing_behind(store: Persistence) -> None:
    await store.write([rev(did(1), 10, "before")], [entry(b"a", 10, did(1))], {"g": "before"})
    bad = IndexEntry(IDX, object(), 20, T, did(3))  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - each engine's driver names it differently
        await store.write(
            [rev(did(2), 20, "new"), rev(did(1), 20, None, prev_ts=10)],
            [entry(b"b", 20, did(2)), entry(b"a", 20, None), bad],
            {"g": "after", "h": 1},
        )
    assert await store.max_ts() == 10
    assert await store.get_document(T, did(2), 30) is None
    assert await store.get_document(T, did(1), 30) == rev(did(1), 10, "before")
    assert keys_of(await store.index_scan(IDX, b"", None, 30, "asc", 10)) == [b"a"]
    assert await store.load_globals() == {"g": "before"}
    # The store is still usable afterwards.
    await store.write([rev(did(2), 20, "new")], [entry(b"b", 20, did(2))])
    assert keys_of(await store.index_scan(IDX, b"", None, 30, "asc", 10)) == [b"a", b"b"]


async def test_rewriting_identical_rows_is_idempotent(store: Persistence) -> None:
    docs = [rev(did(1), 10, {"v": 1}), rev(did(2), 10, {"v": 2})]
    entries = [entry(b"a", 10, did(1)), entry(b"b", 10, did(2)), entry(b"c", 10, None)]
    await store.write(docs, entries, {"g": 1})
    await store.write([rev(did(1), 20, {"v": 11}, prev_ts=10)], [])
    # An index backfill racing with the committer writes some of the same rows again.
    await store.write(docs, entries, {"g": 1})
    await store.write(docs[:1], entries[1:])
    assert await store.get_document(T, did(1), 15) == docs[0]
    assert await store.get_document(T, did(1), 25) == rev(did(1), 20, {"v": 11}, prev_ts=10)
    hits = await store.index_scan(IDX, b"", None, 25, "asc", 10)
    assert [(h.key, h.revision.ts) for h in hits] == [(b"a", 20), (b"b", 10)]
    assert [d.id for d in await store.scan_table(T, 25, None, 10)] == [did(1), did(2)]
    assert await store.max_ts() == 20
    assert await store.load_globals() == {"g": 1}


async def test_delete_index_entries_removes_one_index(store: Persistence) -> None:
    await insert(store, 10, {b"a": did(1), b"b": did(2)}, index=IDX)
    await insert(store, 20, {b"c": did(3)}, index=IDX2)
    await store.delete_index_entries(IDX)
    assert await store.index_scan(IDX, b"", None, 30, "asc", 10) == []
    assert keys_of(await store.index_scan(IDX2, b"", None, 30, "asc", 10)) == [b"c"]
    # The documents stay; only the index is gone.
    assert await store.get_document(T, did(1), 30) == rev(did(1), 10, {"k": b"a".hex()})
    await store.delete_index_entries(b"never existed\x00\x00\x00")


async def test_reads_never_see_part_of_a_write(store: Persistence) -> None:
    """Reads racing with a large write see all of it or none of it."""
    n = 400
    docs = [rev(did(i), 50, i) for i in range(n)]
    entries = [entry(i.to_bytes(4, "big"), 50, did(i)) for i in range(n)]
    seen: set[int] = set()
    written = asyncio.Event()

    async def write() -> None:
        await store.write(docs, entries)
        written.set()

    async def read_until_written() -> None:
        while True:
            done = written.is_set()
            count = len(await store.scan_table(T, 50, None, n + 1))
            hits = len(await store.index_scan(IDX, b"", None, 50, "desc", n + 1))
            seen.update((count, hits))
            if done:
                return
            await asyncio.sleep(0)

    await asyncio.gather(write(), read_until_written())
    assert n in seen
    assert seen <= {0, n}


# -- lifecycle -------------------------------------------------------------------------------


async def test_reopening_keeps_everything(engine: Any) -> None:
    first = engine.make()
    await first.open()
    await first.write(
        [rev(did(1), 10, 1), rev(did(2), 10, 2)], [entry(b"a", 10, did(1))], {"g": [1]}
    )
    await first.write([rev(did(2), 20, None, prev_ts=10)], [entry(b"b", 20, did(1))])
    await first.close()
    await first.close()  # idempotent
    second = engine.make()
    await second.open()
    try:
        assert await second.max_ts() == 20
        assert await second.get_document(T, did(2), 30) == DocumentRevision(T, did(2), 20, None, 10)
        assert await second.get_documents([(T, did(1))], 15) == {(T, did(1)): rev(did(1), 10, 1)}
        assert keys_of(await second.index_scan(IDX, b"", None, 30, "asc", 10)) == [b"a", b"b"]
        assert [d.id for d in await second.scan_table(T, 30, None, 10)] == [did(1)]
        assert await second.load_globals() == {"g": [1]}
        await second.write([rev(did(3), 30, 3)], [])
        assert await second.max_ts() == 30
    finally:
        await second.close()


async def test_a_closed_store_refuses_reads_and_writes(engine: Any) -> None:
    store = engine.make()
    await store.open()
    await store.close()
    with pytest.raises(Exception, match="not open"):
        await store.get_document(T, did(1), 10)
    with pytest.raises(Exception, match="not open"):
        await store.write([rev(did(1), 10, 1)], [])


async def test_a_second_sqlite_writer_on_the_same_file_is_refused(tmp_path: Any) -> None:
    first = SqlitePersistence(tmp_path / "db.sqlite3")
    await first.open()
    try:
        second = SqlitePersistence(tmp_path / "db.sqlite3")
        with pytest.raises(Conflict, match="Another Bayou process is using") as caught:
            await second.open()
        assert caught.value.code == "DatabaseInUse"
        await first.write([rev(did(1), 10, 1)], [])  # the first one is unaffected
    finally:
        await first.close()
    third = SqlitePersistence(tmp_path / "db.sqlite3")
    await third.open()  # the lease is free again once the holder closed
    await third.close()


# -- random histories against a model ---------------------------------------------------------


class Model:
    """The contract in its most obvious form: every row in a dict, every read a full pass."""

    def __init__(self) -> None:
        self.docs: dict[tuple[bytes, bytes, int], DocumentRevision] = {}
        self.entries: dict[tuple[bytes, bytes, int], IndexEntry] = {}
        self.globals: dict[str, Any] = {}

    def write(
        self, docs: list[DocumentRevision], entries: list[IndexEntry], globals_: dict
    ) -> None:
        self.docs.update({(d.table_id, d.id, d.ts): d for d in docs})
        self.entries.update({(e.index_id, e.key, e.ts): e for e in entries})
        self.globals.update(globals_)

    def get(self, table: bytes, id: bytes, ts: int) -> DocumentRevision | None:
        found = [d for (t, i, s), d in self.docs.items() if t == table and i == id and s <= ts]
        return max(found, key=lambda d: d.ts, default=None)

    def index_scan(
        self, index: bytes, start: bytes, end: bytes | None, ts: int, order: str, limit: int
    ) -> list[IndexHit]:
        newest: dict[bytes, IndexEntry] = {}
        for (i, key, s), e in self.entries.items():
            in_range = key >= start and (end is None or key < end)
            if i == index and s <= ts and in_range and (key not in newest or newest[key].ts < s):
                newest[key] = e
        live = sorted(
            (k for k, e in newest.items() if e.document_id is not None), reverse=order == "desc"
        )
        hits = []
        for key in live[:limit]:
            e = newest[key]
            hits.append(IndexHit(key, self.get(e.table_id, e.document_id, ts)))  # type: ignore[arg-type]
        return hits

    def scan_table(
        self, table: bytes, ts: int, after: bytes | None, limit: int
    ) -> list[DocumentRevision]:
        ids = sorted({i for (t, i, _) in self.docs if t == table and i > (after or b"")})
        live = [
            d
            for d in (self.get(table, i, ts) for i in ids)
            if d is not None and d.value is not None
        ]
        return live[:limit]


#: Indexed field values: byte edge cases, and long values whose keys cross the 2,500-byte
#: split point of the PostgreSQL engine (a key is the value followed by the 16-byte id).
FIELD_VALUES = [
    b"",
    b"\x00",
    b"a",
    b"a\x00",
    b"\x7f",
    b"\x80",
    b"\xff",
    b"L" * 2480,
    b"L" * 2484,
    b"L" * 2485,
    b"L" * 3000,
    b"L" * 3000 + b"\x01",
]


class History:
    """Random commits over a few documents with two indexed fields, drawn from `data`."""

    def __init__(self, namespace: int, base_ts: int) -> None:
        ns = namespace.to_bytes(4, "big")
        self.tables = [b"t" + ns + bytes([n]) * 11 for n in range(2)]
        self.ids = [ns + bytes([n]) * 12 for n in range(6)]
        self.indexes = {
            (t, f): b"i" + ns + t[5:6] + bytes([f]) * 10 for t in self.tables for f in range(2)
        }
        self.ts = base_ts
        self.state: dict[tuple[bytes, bytes], tuple[int, list[bytes]]] = {}  # doc -> (ts, fields)
        self.commits: list[tuple[list[DocumentRevision], list[IndexEntry], dict]] = []
        self.namespace = namespace

    def key(self, fields: list[bytes], field: int, id: bytes) -> bytes:
        return fields[field] + id

    def commit(self, data: st.DataObject) -> tuple[list[DocumentRevision], list[IndexEntry], dict]:
        if self.commits and data.draw(st.integers(0, 5)) == 0:
            return self.commits[data.draw(st.integers(0, len(self.commits) - 1))]  # a rewrite
        self.ts += data.draw(st.integers(1, 1000))
        docs: list[DocumentRevision] = []
        entries: list[IndexEntry] = []
        targets = data.draw(
            st.sets(
                st.tuples(st.sampled_from(self.tables), st.sampled_from(self.ids)),
                min_size=1,
                max_size=3,
            )
        )
        for table, id in sorted(targets):
            old = self.state.get((table, id))
            delete = old is not None and data.draw(st.integers(0, 3)) == 0
            if delete:
                new_fields = None
            elif old is not None and data.draw(st.booleans()):
                new_fields = list(old[1])  # an update that moves no key
            else:
                new_fields = [data.draw(st.sampled_from(FIELD_VALUES)) for _ in range(2)]
            value = (
                None
                if new_fields is None
                else orjson.dumps({"f": [f.hex()[:8] for f in new_fields], "ts": self.ts})
            )
            docs.append(DocumentRevision(table, id, self.ts, value, old[0] if old else None))
            for f in range(2):
                old_key = self.key(old[1], f, id) if old else None
                new_key = self.key(new_fields, f, id) if new_fields is not None else None
                if old_key != new_key:
                    if old_key is not None:
                        entries.append(
                            IndexEntry(self.indexes[table, f], old_key, self.ts, table, None)
                        )
                    if new_key is not None:
                        entries.append(
                            IndexEntry(self.indexes[table, f], new_key, self.ts, table, id)
                        )
            if new_fields is None:
                del self.state[(table, id)]
            else:
                self.state[(table, id)] = (self.ts, new_fields)
        globals_ = {}
        if data.draw(st.integers(0, 3)) == 0:
            globals_[f"g{self.namespace}-{data.draw(st.integers(0, 2))}"] = data.draw(
                st.integers(0, 9)
            )
        self.commits.append((docs, entries, globals_))
        return docs, entries, globals_


async def _compare_at(
    store: Persistence, model: Model, history: History, ts: int, data: st.DataObject
) -> None:
    keys = [(t, i) for t in history.tables for i in history.ids]
    expected = {k: d for k in keys if (d := model.get(k[0], k[1], ts)) is not None}
    assert await store.get_documents(keys, ts) == expected
    table, id = data.draw(st.sampled_from(keys))
    assert await store.get_document(table, id, ts) == model.get(table, id, ts)
    for table in history.tables:
        page = data.draw(st.integers(1, 4))
        after, got = None, []
        for _ in range(len(history.ids) + 1):
            batch = await store.scan_table(table, ts, after, page)
            assert all(d.id > (after or b"") for d in batch), "a page repeats `after`"
            got += batch
            if len(batch) < page:
                break
            after = batch[-1].id
        assert got == model.scan_table(table, ts, None, 100)
    known = sorted({e.key for e in model.entries.values()})
    bound = st.sampled_from([*known, b""]).flatmap(
        lambda k: st.sampled_from([k, k + b"\x00", k[:-1], k[:2500], k[:2501]])
    )
    for _ in range(3):
        index = data.draw(st.sampled_from(sorted(history.indexes.values())))
        start = data.draw(bound)
        end = data.draw(st.none() | bound)
        order = data.draw(st.sampled_from(["asc", "desc"]))
        limit = data.draw(st.integers(1, 8))
        got = await store.index_scan(index, start, end, ts, order, limit)  # type: ignore[arg-type]
        assert got == model.index_scan(index, start, end, ts, order, limit)


def test_random_histories_match_a_model(engine: Any) -> None:
    """Random writes go to the engine and to `Model`; every read at random snapshots agrees.

    One store serves all examples: each example uses fresh ids, timestamps above everything
    written before, and globals of its own.
    """
    namespaces = itertools.count(1)
    with asyncio.Runner() as runner:
        store = engine.make()
        runner.run(store.open())

        @settings(
            max_examples=50,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            runner.run(_check_history(store, next(namespaces), data))

        try:
            check()
        finally:
            runner.run(store.close())


async def _check_history(store: Persistence, namespace: int, data: st.DataObject) -> None:
    max_before = await store.max_ts()
    base = max(max_before, BIG_TS)
    globals_before = await store.load_globals()
    history, model = History(namespace, base), Model()
    for _ in range(data.draw(st.integers(1, 6))):
        docs, entries, globals_ = history.commit(data)
        await store.write(docs, entries, globals_)
        model.write(docs, entries, globals_)
    stamps = sorted({d.ts for d in model.docs.values()})
    for ts in sorted({base, *stamps, *(s - 1 for s in stamps), stamps[-1] + 10**9}):
        await _compare_at(store, model, history, ts, data)
    assert await store.max_ts() == max(max_before, stamps[-1])
    assert await store.load_globals() == {**globals_before, **model.globals}
