"""Python data to Convex values, with errors that say where the bad value is and what to use.

User code hands Bayou loose Python data — ints, tuples, enums — and sometimes things Convex
cannot store (sets, datetimes, huge ints). `to_convex` turns the first kind into the exact
representation of `bayou.values` and rejects the second with a message naming the call
(`ctx.db.insert("messages", …)`), the path inside the value (`.tags[2]`) and the fix.
`js_json_text` writes JSON the way `JSON.stringify` does, for the validator, schema and cron
JSON that must read exactly like the npm package's.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import math
import uuid
from collections.abc import Mapping
from typing import Any, Final

import orjson

from bayou.values import COMMIT_TS, UNDEFINED, Int64, Value

MAX_SAFE_INTEGER: Final = 2**53
_MAX_DEPTH: Final = 64


def _where(where: str, path: str) -> str:
    return f"{where}: the value at `{path}`" if path else f"{where}: the value"


def _too_large(n: int, where: str, path: str) -> ValueError:
    return ValueError(
        f"{_where(where, path)} is the integer {n}, which a Convex number (float64) cannot "
        f"hold exactly (only integers up to 2**53 can). Use bayou.Int64({n}) for a 64-bit "
        "integer, or float(...) if rounding is acceptable."
    )


def _unsupported(obj: object, where: str, path: str) -> TypeError:
    hint = _HINTS.get(type(obj))
    if hint is None:
        for kind, text in _HINTS.items():
            if isinstance(obj, kind):
                hint = text
                break
    if hint is None:
        hint = (
            "Convex stores None, bool, int/float (a float64), Int64, str, bytes, lists and "
            "dicts with string keys"
        )
    return TypeError(
        f"{_where(where, path)} is a {type(obj).__name__} ({_short_repr(obj)}), which is not "
        f"a Convex value. {hint}."
    )


_HINTS: Final[dict[type, str]] = {
    set: "Use a list instead, e.g. sorted(the_set)",
    frozenset: "Use a list instead, e.g. sorted(the_set)",
    datetime.datetime: (
        "Store a timestamp in milliseconds like _creationTime (dt.timestamp() * 1000) or an "
        "ISO string (dt.isoformat())"
    ),
    datetime.date: "Store an ISO string (d.isoformat())",
    datetime.time: "Store an ISO string (t.isoformat())",
    datetime.timedelta: "Store a number of seconds (td.total_seconds())",
    decimal.Decimal: "Use float(d), or str(d) to keep every digit",
    uuid.UUID: "Use str(u)",
    complex: "Store the real and imaginary parts as two floats",
}


def _short_repr(obj: object) -> str:
    try:
        text = repr(obj)
    except Exception:
        text = object.__repr__(obj)
    return text if len(text) <= 80 else text[:77] + "..."


def to_convex(obj: Any, where: str, *, undefined: bool = False) -> Value:
    """`obj` as an exact Convex value.

    A Python `int` up to 2**53 stays an `int` (a float64 to Convex, written as a JSON
    integer so that Python callers get it back as an `int`). `undefined=True` lets a
    top-level field be `bayou.values.UNDEFINED` (a patch that removes the field, a filter
    literal). Raises `TypeError` / `ValueError` whose message
    starts with `where`.
    """
    value: Value = _convert(obj, where, "", 0, undefined)
    return value


def _convert(obj: Any, where: str, path: str, depth: int, undefined: bool) -> Any:
    t = type(obj)
    if t is str or t is float or t is bool or obj is None or t is Int64 or t is bytes:
        return obj
    if t is int:
        # A float64 that stays an `int` in Python: it crosses to other Python functions as
        # a JSON integer (JavaScript and the database see the same number).
        if -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER:
            return obj
        raise _too_large(obj, where, path)
    if depth >= _MAX_DEPTH:
        raise ValueError(f"{_where(where, path)} is nested more than {_MAX_DEPTH} levels deep")
    if t is dict or (isinstance(obj, Mapping) and not isinstance(obj, enum.Enum)):
        out: dict[str, Any] = {}
        for key, item in obj.items():
            if type(key) is not str:
                if isinstance(key, str):
                    key = str.__str__(key)
                else:
                    raise TypeError(
                        f"{_where(where, path)} is a dict with the key {key!r} "
                        f"({type(key).__name__}); Convex objects have string keys only. "
                        "Convert the keys with str(...)."
                    )
            sub = f"{path}.{key}"
            if item is UNDEFINED and undefined and depth == 0:
                out[key] = UNDEFINED
            else:
                out[key] = _convert(item, where, sub, depth + 1, False)
        return out
    if t is list or t is tuple:
        return [_convert(x, where, f"{path}[{i}]", depth + 1, False) for i, x in enumerate(obj)]
    return _convert_other(obj, where, path, undefined)


def _convert_other(obj: Any, where: str, path: str, undefined: bool) -> Any:
    if isinstance(obj, bool):
        return bool(obj)
    if isinstance(obj, enum.Enum) and not isinstance(obj, (str, int, float)):
        raise TypeError(
            f"{_where(where, path)} is the enum member {obj!r}, which is not a Convex value. "
            "Store its .value (or make the enum a StrEnum / IntEnum)."
        )
    if isinstance(obj, int):
        return _convert(int(obj), where, path, 0, False)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, str):
        return str.__str__(obj)
    if isinstance(obj, (bytearray, memoryview)):
        return bytes(obj)
    if obj is UNDEFINED:
        if undefined:
            return obj
        raise TypeError(
            f"{_where(where, path)} is UNDEFINED, which is only allowed as a top-level field "
            "of ctx.db.patch (to remove that field) and in filter expressions."
        )
    if obj is COMMIT_TS:
        return obj
    raise _unsupported(obj, where, path)


def js_json_text(obj: Any) -> str:
    """`obj` (a JSON tree) as `JSON.stringify` writes it: compact, keys in insertion order,
    integral numbers without a fraction (`1`, not `1.0`)."""
    return orjson.dumps(_js_numbers(obj)).decode()


def _js_numbers(obj: Any) -> Any:
    t = type(obj)
    if t is float:
        if obj == obj and not math.isinf(obj) and obj == int(obj) and abs(obj) < 2**63:
            return int(obj)
        return obj
    if t is dict:
        return {k: _js_numbers(v) for k, v in obj.items()}
    if t is list:
        return [_js_numbers(v) for v in obj]
    return obj
