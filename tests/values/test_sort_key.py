"""Tests of bayou.values.sort_key: byte-exact keys and Convex's total order."""

from __future__ import annotations

import functools
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayou.errors import BadRequest
from bayou.values import COMMIT_TS, UNDEFINED, Int64
from bayou.values import sort_key as sk
from tests.values.strategies import CANONICAL_NAN, NEGATIVE_NAN, convex_values, similar_values

_RANKS = {type(None): 1, Int64: 2, float: 3, bool: 4, str: 5, bytes: 6, list: 7, dict: 8}


def reference_compare(a, b) -> int:
    """Convex's order written from its definition, independently of the byte encoding."""
    ra = 0 if a is UNDEFINED else _RANKS[type(a)]
    rb = 0 if b is UNDEFINED else _RANKS[type(b)]
    if ra != rb:
        return -1 if ra < rb else 1
    if type(a) is Int64:
        a, b = a.value, b.value
    elif type(a) is float:
        a, b = _float_rank(a), _float_rank(b)
    elif type(a) is list:
        for x, y in zip(a, b, strict=False):
            c = reference_compare(x, y)
            if c:
                return c
        a, b = len(a), len(b)
    elif type(a) is dict:
        for (ka, va), (kb, vb) in zip(sorted(a.items()), sorted(b.items()), strict=False):
            c = (ka > kb) - (ka < kb) or reference_compare(va, vb)
            if c:
                return c
        a, b = len(a), len(b)
    elif a is None or a is UNDEFINED:
        return 0
    return (a > b) - (a < b)


def _float_rank(f: float) -> tuple:
    if math.isnan(f):
        payload = struct.unpack("<Q", struct.pack("<d", f))[0] & ((1 << 63) - 1)
        return (-2, -payload) if math.copysign(1.0, f) < 0 else (2, payload)
    return (0, f, math.copysign(1.0, f))


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (UNDEFINED, "01"),
        (None, "03"),
        (Int64(0), "08"),
        (Int64(1), "0901"),
        (Int64(-1), "07ff"),
        (Int64(127), "097f"),
        (Int64(128), "0a0080"),
        (Int64(-128), "0780"),
        (Int64(-129), "06ff7f"),
        (Int64(32767), "0a7fff"),
        (Int64(32768), "0b00008000"),
        (Int64(-32769), "05ffff7fff"),
        (Int64(2**31), "0c0000000080000000"),
        (Int64(2**63 - 1), "0c7fffffffffffffff"),
        (Int64(-(2**63)), "048000000000000000"),
        (0.0, "0d8000000000000000"),
        (-0.0, "0d7fffffffffffffff"),
        (1.0, "0dbff0000000000000"),
        (-1.0, "0d400fffffffffffff"),
        (math.inf, "0dfff0000000000000"),
        (CANONICAL_NAN, "0dfff8000000000000"),
        (False, "0e"),
        (True, "0f"),
        ("", "1000"),
        ("a\x00b", "106100ff6200"),
        ("é", "10c3a900"),
        (b"", "1100"),
        (b"\x00\xff", "1100ffff00"),
        ([], "1200"),
        ([None, "a"], "1203106100" + "00"),
        ({}, "1500"),
        ({"b": None, "a": True}, "15" + "61000f" + "620003" + "00"),
        ({"": None}, "15" + "00ff03" + "00"),
    ],
)
def test_sort_keys_are_byte_exact(value, key):
    assert sk.encode(value).hex() == key


def test_types_sort_in_convex_rank_order():
    ordered = [
        UNDEFINED,
        None,
        Int64(-(2**63)),
        Int64(2**63 - 1),
        NEGATIVE_NAN,
        -math.inf,
        -1.0,
        -0.0,
        0.0,
        math.inf,
        CANONICAL_NAN,
        False,
        True,
        "",
        "\x00",
        "a",
        "é",
        "😀",
        b"",
        b"\x00",
        b"\x00\x00",
        b"\x01",
        b"\xff",
        [],
        [None],
        [None, None],
        [Int64(1)],
        {},
        {"": None},
        {"a": None},
        {"a": None, "b": None},
        {"b": None},
    ]
    keys = [sk.encode(v) for v in ordered]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_every_int64_sorts_before_every_float():
    assert sk.compare(Int64(2**63 - 1), -math.inf) == -1
    assert sk.compare(Int64(5), 0.1) == -1
    assert sk.compare(Int64(1), 1.0) != 0


def test_compare_treats_nan_as_equal_to_itself_and_zeros_as_different():
    assert sk.compare(CANONICAL_NAN, CANONICAL_NAN) == 0
    assert sk.compare(-0.0, 0.0) == -1


@given(convex_values)
def test_decode_inverts_encode(value):
    key = sk.encode(value)
    decoded, end = sk.decode(key)
    assert end == len(key)
    assert sk.encode(decoded) == key
    if not isinstance(value, float) or not math.isnan(value):
        assert repr(decoded) == repr(_sorted_dicts(value))


def _sorted_dicts(value):
    if type(value) is dict:
        return {k: _sorted_dicts(value[k]) for k in sorted(value)}
    if type(value) is list:
        return [_sorted_dicts(v) for v in value]
    return value


@given(similar_values, similar_values)
def test_compare_agrees_with_the_reference_order_on_similar_values(a, b):
    assert sk.compare(a, b) == reference_compare(a, b)


@given(convex_values, convex_values)
def test_compare_agrees_with_the_reference_order(a, b):
    assert sk.compare(a, b) == reference_compare(a, b)


@given(st.lists(similar_values, max_size=8))
def test_sorting_by_key_matches_sorting_by_reference(values):
    by_key = sorted(values, key=sk.encode)
    by_reference = sorted(values, key=functools.cmp_to_key(reference_compare))
    assert [sk.encode(v) for v in by_key] == [sk.encode(v) for v in by_reference]


@given(st.lists(similar_values, max_size=3), st.lists(similar_values, max_size=3))
def test_concatenated_keys_sort_like_tuples(a, b):
    expected = reference_compare(a, b)
    ka, kb = sk.encode_values(a), sk.encode_values(b)
    assert (ka > kb) - (ka < kb) == expected


@given(st.lists(st.one_of(st.just(UNDEFINED), convex_values), max_size=4))
def test_decode_all_splits_an_index_key(values):
    decoded = sk.decode_all(sk.encode_values(values))
    assert [sk.encode(v) for v in decoded] == [sk.encode(v) for v in values]


def test_decode_returns_the_next_offset():
    key = sk.encode_values(["ab", Int64(7), UNDEFINED, None])
    value, offset = sk.decode(key)
    assert value == "ab"
    value, offset = sk.decode(key, offset)
    assert value == Int64(7)
    value, offset = sk.decode(key, offset)
    assert value is UNDEFINED
    assert sk.decode(key, offset) == (None, len(key))


@pytest.mark.parametrize(
    "key",
    [
        "",  # nothing
        "10616263",  # unterminated string
        "0a0001",  # 1 written in two bytes: not canonical
        "0900",  # 0 with a positive tag
        "0701",  # a positive number under a negative tag
        "0d0000",  # truncated float
        "10ff00",  # invalid UTF-8
        "ff",  # the escape byte as a tag
        "13",  # the retired set tag
        "1203",  # unterminated array
        "15610003610003" + "00",  # duplicate field
        "120100",  # undefined inside an array
    ],
)
def test_decode_rejects_corrupt_keys(key):
    with pytest.raises(BadRequest) as info:
        sk.decode_all(bytes.fromhex(key)) if key else sk.decode(b"")
    assert info.value.code == "InvalidSortKey"


def test_commit_ts_sorts_after_every_int64():
    # A mutation's pending rows hold the placeholder: it sorts as the largest Int64.
    assert sk.encode(COMMIT_TS) == sk.encode(Int64(2**63 - 1))
    assert sk.encode(COMMIT_TS) > sk.encode(Int64(2**62))


@pytest.mark.parametrize(
    ("prefix", "successor"),
    [
        (b"ab", b"ac"),
        (b"a\xff", b"b"),
        (b"a\xfe\xff\xff", b"a\xff"),
        (b"\x00", b"\x01"),
        (b"\xff\xff", None),
        (b"", None),
    ],
)
def test_prefix_successor(prefix, successor):
    assert sk.prefix_successor(prefix) == successor


@given(st.binary(max_size=4), st.binary(max_size=6))
def test_prefix_successor_bounds_exactly_the_strings_with_the_prefix(prefix, other):
    successor = sk.prefix_successor(prefix)
    if successor is None:
        return
    assert prefix < successor
    if other.startswith(prefix):
        assert other < successor
    elif other > prefix:
        assert other >= successor


@given(convex_values, convex_values)
def test_an_index_key_starts_with_the_keys_of_its_leading_fields(a, b):
    assert sk.encode_values([a, b]).startswith(sk.encode(a))
