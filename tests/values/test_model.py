"""Tests of bayou.values.model: Int64, the sentinels and the representation helpers."""

from __future__ import annotations

import copy
import pickle

import pytest

from bayou.errors import BadRequest
from bayou.values import COMMIT_TS, UNDEFINED, Int64, to_value, type_name


def test_int64_equals_only_int64_of_same_value():
    assert Int64(5) == Int64(5)
    assert Int64(5) != Int64(6)
    assert Int64(5) != 5.0
    assert Int64(5) != 5
    assert (5.0).__eq__(Int64(5)) is NotImplemented


def test_int64_is_hashable_and_usable_as_key():
    seen = {Int64(5): "a"}
    assert seen[Int64(5)] == "a"
    assert Int64(5) not in {5: 1}
    assert Int64(5) not in {5.0: 2}


def test_int64_converts_to_int():
    n = Int64(-7)
    assert n.value == -7
    assert int(n) == -7
    assert [10, 20, 30][Int64(1)] == 20
    assert repr(n) == "Int64(-7)"


@pytest.mark.parametrize("n", [2**63, -(2**63) - 1, 10**30])
def test_int64_out_of_range_is_bad_request(n):
    with pytest.raises(BadRequest, match="64-bit"):
        Int64(n)


@pytest.mark.parametrize("n", [2**63 - 1, -(2**63)])
def test_int64_accepts_extremes(n):
    assert Int64(n).value == n


@pytest.mark.parametrize("bad", [1.0, "1", True, None])
def test_int64_rejects_non_integers(bad):
    with pytest.raises(BadRequest):
        Int64(bad)


def test_int64_is_immutable():
    n = Int64(1)
    with pytest.raises(AttributeError):
        n.value = 2  # type: ignore[misc]


def test_int64_orders_among_int64s():
    assert Int64(-1) < Int64(0) <= Int64(0) < Int64(2**62)
    with pytest.raises(TypeError):
        _ = Int64(1) < 2.0  # type: ignore[operator]


def test_int64_survives_pickle_and_copy():
    assert pickle.loads(pickle.dumps(Int64(3))) == Int64(3)
    assert copy.deepcopy([Int64(4)]) == [Int64(4)]


def test_undefined_is_a_falsy_singleton():
    assert not UNDEFINED
    assert UNDEFINED is type(UNDEFINED)()
    assert UNDEFINED is not None
    assert repr(UNDEFINED) == "UNDEFINED"
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED
    assert copy.deepcopy(COMMIT_TS) is COMMIT_TS


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "Null"),
        (Int64(1), "Int64"),
        (1.0, "Float64"),
        (True, "Boolean"),
        ("s", "String"),
        (b"b", "Bytes"),
        ([], "Array"),
        ({}, "Object"),
    ],
)
def test_type_name_uses_convex_names(value, name):
    assert type_name(value) == name


def test_type_name_flags_non_values():
    assert "not a Convex value" in type_name(3)


def test_to_value_turns_python_data_into_the_exact_representation():
    loose = {"n": 3, "t": (1, 2.5), "b": bytearray(b"x"), "big": Int64(2**40), "ok": True}
    assert to_value(loose) == {
        "n": 3.0,
        "t": [1.0, 2.5],
        "b": b"x",
        "big": Int64(2**40),
        "ok": True,
    }
    assert type(to_value(3)) is float
    assert to_value(True) is True


def test_to_value_refuses_ints_that_a_float_cannot_hold():
    with pytest.raises(BadRequest, match="Int64"):
        to_value(2**53 + 1)


def test_to_value_refuses_unsupported_types():
    with pytest.raises(BadRequest, match="not a supported Convex value"):
        to_value({"s": {1, 2}})
    with pytest.raises(BadRequest, match="keys must be strings"):
        to_value({1: "x"})
