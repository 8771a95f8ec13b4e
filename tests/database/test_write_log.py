"""The write log's conflict check, the head fast path in particular: a range within one
first-field value is checked with one lookup, and exactly the writes a scan of the
entries would find are found."""

from __future__ import annotations

import random
from typing import Any

import pytest

from bayou.database.read_set import ReadSet
from bayou.database.write_log import LogEntry, WriteLog, head_of
from bayou.values import sort_key
from bayou.values.model import Int64

INDEX = b"i" * 16  # a database index: keys are sort keys, heads are recorded
BY_ID = b"d" * 16  # a by_id index: keys are document ids, no heads


def key(value: Any, n: int) -> bytes:
    """An index key: the field's value, then a creation time and an id, as in an index."""
    return sort_key.encode(value) + sort_key.encode(float(n)) + sort_key.encode(f"id{n}")


def entry(ts: int, *keys: bytes, index: bytes = INDEX) -> LogEntry:
    written = tuple((index, k) for k in keys)
    heads = tuple((index, head_of(k)) for k in keys) if index == INDEX else ()
    return LogEntry.create(ts, written, ("t",), heads)


def reading(start: bytes, end: bytes | None, index: bytes = INDEX) -> ReadSet:
    reads = ReadSet()
    reads.add(index, start, end)
    return reads


def eq_range(value: Any) -> tuple[bytes, bytes | None]:
    """What `.withIndex(i, q => q.eq("f", value)).collect()` reads."""
    prefix = sort_key.encode(value)
    return prefix, sort_key.prefix_successor(prefix)


def first_range(value: Any, n: int) -> tuple[bytes, bytes]:
    """What `.first()` of that query reads when its first document is document `n`."""
    return sort_key.encode(value), key(value, n) + b"\x00"


def scanned(log: WriteLog, reads: ReadSet, after_ts: int) -> bool:
    """The answer without the fast path: whether a later entry writes into the reads."""
    return any(
        e.writes_into(i, s, end)
        for e in log.entries_after(after_ts) or ()
        for i, intervals in reads.intervals.items()
        for s, end in intervals
    )


def test_a_range_in_one_value_conflicts_only_with_writes_of_that_value() -> None:
    log = WriteLog()
    log.reset(0)
    log.append(entry(10, key(5.0, 1), key(7.0, 2)))
    log.append(entry(20, key(6.0, 3)))
    for reads in (reading(*eq_range(5.0)), reading(*first_range(5.0, 1))):
        assert log.first_conflict(reads, 5) is not None  # written at 10
        assert log.first_conflict(reads, 10) is None  # not since
    assert log.first_conflict(reading(*eq_range(6.0)), 10).ts == 20  # type: ignore[union-attr]
    assert log.first_conflict(reading(*eq_range(8.0)), 0) is None


def test_a_string_value_s_range_still_meets_longer_strings_that_share_its_bytes() -> None:
    """eq("a") spans the keys of "a\\x00b" (0x10 a 0x00 0xFF b 0x00): a write of one must
    conflict although its head is not "a"'s."""
    log = WriteLog()
    log.reset(0)
    log.append(entry(10, key("a\x00b", 1)))
    start, end = eq_range("a")
    assert start <= key("a\x00b", 1) < end  # type: ignore[operator]
    assert log.first_conflict(reading(start, end), 5) is not None
    # .first() that stopped at a plain "a" document does not reach that far.
    assert log.first_conflict(reading(*first_range("a", 0)), 5) is None


def test_an_index_without_heads_is_scanned() -> None:
    log = WriteLog()
    log.reset(0)
    doc = b"\x0d" + bytes(15)  # an id that happens to look like a float's key
    log.append(entry(10, doc, index=BY_ID))
    assert log.first_conflict(reading(doc[:9], doc + b"\x00", BY_ID), 5) is not None


def test_the_fast_path_agrees_with_a_scan() -> None:
    rng = random.Random(7)
    values = [0.0, 1.5, -2.0, "a", "a\x00", "a\x00b", "b", True, None, Int64(3), [1.0], {"x": 1.0}]
    log = WriteLog()
    log.reset(0)
    for ts in range(1, 200):
        log.append(entry(ts, *(key(rng.choice(values), rng.randrange(4)) for _ in range(2))))
    for _ in range(2000):
        value = rng.choice(values)
        if rng.random() < 0.5:
            reads = reading(*eq_range(value))
        else:
            reads = reading(*first_range(value, rng.randrange(4)))
        after = rng.randrange(0, 200)
        found = log.first_conflict(reads, after)
        assert (found is not None) == scanned(log, reads, after), (value, after)


def test_heads_leave_with_their_entries() -> None:
    log = WriteLog(max_entries=2)
    log.reset(0)
    for ts in (10, 20, 30):
        log.append(entry(ts, key(float(ts), 0)))
    assert log.first_conflict(reading(*eq_range(10.0)), 5) is True  # before the horizon
    assert log.first_conflict(reading(*eq_range(10.0)), 10) is None
    assert log.first_conflict(reading(*eq_range(30.0)), 20) is not None
    assert len(log._head_written) == 2


def test_a_range_in_one_value_not_written_since_is_answered_without_a_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = WriteLog()
    log.reset(0)
    for ts in range(1, 50):
        log.append(entry(ts, key(float(ts), ts)))
    monkeypatch.setattr(log, "entries_after", lambda *a, **k: pytest.fail("scanned"))
    assert log.first_conflict(reading(*eq_range(3.0)), 10) is None
    assert log.first_conflict(reading(*first_range("a", 1)), 0) is None
