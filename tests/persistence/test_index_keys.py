"""`index_keys`: an index scan without documents (what search postings use, and queries
over a local database, which take the documents from the document cache), on every
engine."""

from __future__ import annotations

from test_conformance import IDX, ODD_KEYS, did, entry, insert, rev

from bayou.persistence import Persistence


async def test_index_keys_is_an_ascending_scan_without_documents(store: Persistence) -> None:
    await insert(store, 10, {k: did(i) for i, k in enumerate(ODD_KEYS)})
    pairs = await store.index_keys(IDX, b"", None, 10, 100)
    assert [k for k, _ in pairs] == sorted(ODD_KEYS)
    assert dict(pairs) == {k: did(i) for i, k in enumerate(ODD_KEYS)}
    hits = await store.index_scan(IDX, b"a", b"a\xff", 10, "asc", 100)
    assert [k for k, _ in await store.index_keys(IDX, b"a", b"a\xff", 10, 100)] == [
        h.key for h in hits
    ]
    assert len(await store.index_keys(IDX, b"", None, 10, 2)) == 2
    assert await store.index_keys(IDX, b"b", b"a", 10, 100) == []


async def test_index_keys_sees_the_snapshot_and_skips_tombstones(store: Persistence) -> None:
    await insert(store, 10, {bytes([i]): did(i) for i in range(4)})
    await store.write(
        [rev(did(i), 20, None, prev_ts=10) for i in range(2)],
        [entry(bytes([i]), 20, None) for i in range(2)],
    )
    assert [k for k, _ in await store.index_keys(IDX, b"", None, 20, 10)] == [b"\x02", b"\x03"]
    assert len(await store.index_keys(IDX, b"", None, 15, 10)) == 4
    assert await store.index_keys(IDX, b"", None, 5, 10) == []


async def test_index_keys_descending_matches_the_scan(store: Persistence) -> None:
    await insert(store, 10, {k: did(i) for i, k in enumerate(ODD_KEYS)})
    for start, end in ((b"", None), (b"a", b"a\xff")):
        for limit in (1, 2, 100):
            hits = await store.index_scan(IDX, start, end, 10, "desc", limit)
            pairs = await store.index_keys(IDX, start, end, 10, limit, "desc")
            assert pairs == [(h.key, h.revision.id) for h in hits]
    assert [k for k, _ in await store.index_keys(IDX, b"", None, 10, 100, "desc")] == sorted(
        ODD_KEYS, reverse=True
    )
