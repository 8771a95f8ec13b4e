"""The Python representation of Convex values.

A Convex value is one of::

    Null     None            Float64  float (always float, never int)
    Int64    Int64           Boolean  bool
    String   str             Bytes    bytes
    Array    list[Value]     Object   dict[str, Value]

Two sentinels stand for things that are not stored values: `UNDEFINED` (JS `undefined`: a
missing field in filter and index-range expressions, a field removal in patches) and
`COMMIT_TS` (the `db.vars.commitTs` placeholder a mutation may write, resolved to an Int64
when it commits).

Everything in Bayou uses exactly these types, so code can dispatch on `type(value)`:
a Python `int` is not a Convex value (use `float` or `Int64`); `to_value` converts loose
Python data (ints, tuples, bytearrays, mappings) into this representation at the edges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

from bayou.errors import BadRequest

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
# Integers beyond this magnitude are not all representable as float64.
MAX_SAFE_INTEGER: Final = 2**53


class Int64:
    """A 64-bit signed integer (a JS `bigint`), distinct from the float64 `5.0`.

    `Int64(5) == Int64(5)`, `Int64(5) != 5.0` and `Int64(5) != 5`: the types differ in
    Convex and sort differently, so they never compare equal here either.
    """

    __slots__ = ("value",)
    value: int

    def __init__(self, value: int) -> None:
        if type(value) is not int or not -(2**63) <= value <= 2**63 - 1:
            value = _checked_int64(value)
        _set_int64_value(self, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Int64 is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Int64 is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is Int64:
            return self.value == other.value
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if type(other) is Int64:
            return self.value != other.value
        return NotImplemented

    def __lt__(self, other: Int64) -> bool:
        if type(other) is Int64:
            return self.value < other.value
        return NotImplemented

    def __le__(self, other: Int64) -> bool:
        if type(other) is Int64:
            return self.value <= other.value
        return NotImplemented

    def __gt__(self, other: Int64) -> bool:
        if type(other) is Int64:
            return self.value > other.value
        return NotImplemented

    def __ge__(self, other: Int64) -> bool:
        if type(other) is Int64:
            return self.value >= other.value
        return NotImplemented

    def __hash__(self) -> int:
        # Distinct from hash(5) so that mixing Int64 and int keys stays cheap.
        return hash((Int64, self.value))

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"Int64({self.value})"

    def __reduce__(self) -> tuple[type[Int64], tuple[int]]:
        return (Int64, (self.value,))


_set_int64_value = Int64.value.__set__  # type: ignore[attr-defined]


def _checked_int64(value: object) -> int:
    """`value` as an int in the Int64 range, or a BadRequest saying why not."""
    if isinstance(value, Int64):
        return value.value
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(
            f"Int64 needs an int, not {type(value).__name__} {value!r}", code="InvalidValue"
        )
    if not INT64_MIN <= value <= INT64_MAX:
        raise BadRequest(
            f"Int64 {value} does not fit into a 64-bit signed integer ({INT64_MIN} .. {INT64_MAX})",
            code="InvalidValue",
        )
    return int(value)


class Undefined:
    """The type of `UNDEFINED`, the stand-in for JS `undefined` (never stored)."""

    __slots__ = ()
    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __reduce__(self) -> str:
        return "UNDEFINED"


class CommitTsPlaceholder:
    """The type of `COMMIT_TS`, the unresolved commit timestamp of a mutation (never stored)."""

    __slots__ = ()
    _instance: CommitTsPlaceholder | None = None

    def __new__(cls) -> CommitTsPlaceholder:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "COMMIT_TS"

    def __reduce__(self) -> str:
        return "COMMIT_TS"


UNDEFINED: Final = Undefined()
COMMIT_TS: Final = CommitTsPlaceholder()

Value: TypeAlias = "bool | float | Int64 | str | bytes | list[Value] | dict[str, Value] | None"

_TYPE_NAMES: Final = {
    type(None): "Null",
    Int64: "Int64",
    float: "Float64",
    bool: "Boolean",
    str: "String",
    bytes: "Bytes",
    list: "Array",
    dict: "Object",
    Undefined: "Undefined",
    CommitTsPlaceholder: "CommitTs",
}


def type_name(value: object) -> str:
    """The Convex name of the value's type ("Float64", "Object" …), as messages use it."""
    name = _TYPE_NAMES.get(type(value))
    if name is None:
        return f"{type(value).__name__} (not a Convex value)"
    return name


def to_value(obj: Any, *, _depth: int = 0) -> Value:
    """Convert loose Python data into the exact Convex representation.

    `int` becomes `float` when exactly representable (otherwise use `Int64`), tuples become
    lists, bytearray/memoryview become bytes, other mappings become dicts. Values already in
    the exact representation are returned unchanged (the same object when nothing changes).
    """
    t = type(obj)
    if t is str or t is float or t is bool or obj is None or t is Int64 or t is bytes:
        return obj
    if _depth > 256:
        raise BadRequest("Value is too nested to convert", code="TooNestedError")
    if t is int:
        return _int_to_float(obj)
    if t is list or t is tuple:
        return [to_value(x, _depth=_depth + 1) for x in obj]
    if t is dict or isinstance(obj, Mapping):
        out: dict[str, Value] = {}
        for k, v in obj.items():
            if type(k) is not str:
                raise BadRequest(
                    f"Object keys must be strings, not {type(k).__name__} {k!r}",
                    code="InvalidValue",
                )
            out[k] = to_value(v, _depth=_depth + 1)
        return out
    if isinstance(obj, bool):
        return bool(obj)
    if isinstance(obj, int):
        return _int_to_float(int(obj))
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, (bytearray, memoryview)):
        return bytes(obj)
    if obj is UNDEFINED or obj is COMMIT_TS:
        return obj
    raise BadRequest(
        f"{type(obj).__name__} {obj!r} is not a supported Convex value. Convex values are "
        "None, bool, float, Int64, str, bytes, list and dict with string keys.",
        code="InvalidValue",
    )


def _int_to_float(n: int) -> float:
    try:
        f = float(n)
    except OverflowError:
        f = math.inf
    if f - f != 0.0 or int(f) != n:
        raise BadRequest(
            f"The integer {n} cannot be represented exactly as a float64 number: "
            "use Int64 for 64-bit integers",
            code="InvalidValue",
        )
    return f


def contains_commit_ts(value: Any) -> bool:
    """True when `value` holds the `COMMIT_TS` placeholder anywhere."""
    if value is COMMIT_TS:
        return True
    t = type(value)
    if t is dict:
        return any(contains_commit_ts(v) for v in value.values())
    if t is list:
        return any(contains_commit_ts(v) for v in value)
    return False


def with_commit_ts(value: Any, stamp: Int64) -> Any:
    """`value` with every `COMMIT_TS` placeholder replaced by `stamp`."""
    if value is COMMIT_TS:
        return stamp
    t = type(value)
    if t is dict:
        return {k: with_commit_ts(v, stamp) for k, v in value.items()}
    if t is list:
        return [with_commit_ts(v, stamp) for v in value]
    return value
