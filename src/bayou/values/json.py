"""The JSON encodings of Convex values: Convex-encoded, clean `json`, and export.

Convex-encoded JSON (the sync protocol, function arguments and results, HTTP
`convex_encoded_json`) writes the types JSON lacks as one-key objects::

    Int64(1)      {"$integer": "AQAAAAAAAAA="}     base64 of 8 little-endian bytes
    nan, ±inf, -0.0   {"$float": "AAAAAAAA+H8="}   every other float is a plain number
    b"hello"      {"$bytes": "aGVsbG8="}

and every plain JSON number decodes as a float64, even `5`. Object keys are written in
sorted order, as Convex does. `dumps`/`loads` are the fast byte-level entry points
(orjson); `to_json`/`from_json` work on already-parsed JSON trees.
"""

from __future__ import annotations

import binascii
import math
import struct
from typing import Any, Final

import orjson

from bayou.errors import BadRequest
from bayou.values.limits import (
    MAX_ARRAY_LEN,
    MAX_FIELD_NAME_LEN,
    MAX_NESTING,
    MAX_OBJECT_FIELDS,
    MAX_VALUE_SIZE,
    check_value,
    field_name_error,
)
from bayou.values.model import (
    COMMIT_TS,
    MAX_SAFE_INTEGER,
    UNDEFINED,
    Int64,
    Value,
)

# A JSON text of n bytes decodes to a value whose size() is at most 4.5 n + 9 (a one-digit
# number costs 2 bytes of text and 9 bytes of size): below this length, no size check.
_SIZE_CHECK_TEXT_LEN: Final = (MAX_VALUE_SIZE - 9) // 5

_I64_LE: Final = struct.Struct("<q")
_F64_LE: Final = struct.Struct("<d")

_FORMATS: Final = {
    "convex_encoded_json": "convex_encoded_json",
    "convex_json": "convex_encoded_json",
    "json": "json",
    "convex_clean_json": "json",
    "export_json": "export_json",
}


def _invalid(message: str) -> BadRequest:
    return BadRequest(message, code="InvalidValue")


def _too_nested(nesting: int) -> BadRequest:
    return BadRequest(
        f"Value is too nested (nested {nesting} levels deep > maximum nesting {MAX_NESTING})",
        code="TooNestedError",
    )


def _array_too_long(n: int) -> BadRequest:
    return BadRequest(
        f"Array length is too long ({n} > maximum length {MAX_ARRAY_LEN})", code="ArrayTooLong"
    )


def _too_many_fields(n: int) -> BadRequest:
    return BadRequest(
        f"Object has too many fields ({n} > maximum number {MAX_OBJECT_FIELDS})",
        code="TooManyFieldsError",
    )


# --------------------------------------------------------------------------- encoding


def _b64(data: bytes) -> str:
    """Standard base64 with padding, as Convex writes it."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def encode_int64(n: int) -> str:
    """The `$integer` payload: base64 of the 8 little-endian bytes of `n`."""
    return _b64(_I64_LE.pack(n))


def encode_float_bits(f: float) -> str:
    """The `$float` payload: base64 of the 8 little-endian IEEE 754 bytes of `f`."""
    return _b64(_F64_LE.pack(f))


def is_special_float(f: float) -> bool:
    """True for NaN, ±infinity and -0.0: the floats JSON numbers cannot carry."""
    if f != 0.0:
        return f - f != 0.0
    return math.copysign(1.0, f) < 0.0


def to_json(value: Value) -> Any:
    """The Convex-encoded JSON tree of `value` (object keys in sorted order)."""
    t = type(value)
    if t is str or t is bool or value is None:
        return value
    if t is float:
        if value != 0.0:
            if value - value == 0.0:  # finite
                return value
        elif math.copysign(1.0, value) > 0.0:  # type: ignore[arg-type]
            return value
        return {"$float": encode_float_bits(value)}  # type: ignore[arg-type]
    if t is dict:
        out = {}
        for k in sorted(value):  # type: ignore[call-overload]
            v = value[k]  # type: ignore[index]
            tv = type(v)
            # Plain strings, booleans, nulls and ordinary floats are their own encoding.
            if tv is str or tv is bool or v is None or (tv is float and v != 0.0 and v - v == 0.0):
                out[k] = v
            else:
                out[k] = to_json(v)
        return out
    if t is list:
        return [to_json(v) for v in value]  # type: ignore[union-attr]
    if t is Int64:
        return {"$integer": encode_int64(value.value)}  # type: ignore[union-attr]
    if t is bytes:
        return {"$bytes": _b64(value)}  # type: ignore[arg-type]
    return _encode_other(value)


def _encode_other(value: object) -> Any:
    if value is UNDEFINED:
        return {"$undefined": None}
    if value is COMMIT_TS:
        return {"$commitTs": None}
    if type(value) is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            # The Python runtime's integral float64: written as a JSON integer, so a Python
            # function that reads it with `ints=True` gets its `int` back.
            return value
        raise _invalid(
            f"The Python int {value} is not a Convex value: use a float for numbers or "
            "Int64 for 64-bit integers"
        )
    raise _invalid(f"{type(value).__name__} {value!r} is not a Convex value")


def _orjson_default(value: object) -> Any:
    t = type(value)
    if t is Int64:
        return {"$integer": encode_int64(value.value)}  # type: ignore[attr-defined]
    if t is bytes:
        return {"$bytes": _b64(value)}  # type: ignore[arg-type]
    return _encode_other(value)


def _needs_rewrite(value: object) -> bool:
    """True when orjson alone would write `value` wrongly (special floats, plain ints)."""
    t = type(value)
    if t is float:
        return is_special_float(value)  # type: ignore[arg-type]
    if t is dict:
        vals = value.values()  # type: ignore[attr-defined]
    elif t is list:
        vals = value  # type: ignore[assignment]
    else:
        # orjson writes these itself or through `_orjson_default`; anything else (a Python
        # int, a tuple, a sentinel) takes the slow path, which explains the problem.
        return not (t is str or t is bool or value is None or t is Int64 or t is bytes)
    for v in vals:
        tv = type(v)
        if tv is str or tv is bool or v is None or tv is Int64:
            continue
        if tv is float:
            if v != 0.0:
                if v - v == 0.0:
                    continue
            elif math.copysign(1.0, v) > 0.0:
                continue
            return True
        if _needs_rewrite(v):
            return True
    return False


def dumps(value: Value) -> bytes:
    """`value` as Convex-encoded JSON text (UTF-8 bytes, keys sorted)."""
    if _needs_rewrite(value):
        return orjson.dumps(to_json(value))
    return orjson.dumps(value, default=_orjson_default, option=orjson.OPT_SORT_KEYS)


# --------------------------------------------------------------------------- decoding


def _b64decode(payload: object, what: str) -> bytes:
    if type(payload) is not str:
        raise _invalid(f"Malformed {what} field: expected a base64 string, got {payload!r}")
    try:
        return binascii.a2b_base64(payload, strict_mode=True)
    except (binascii.Error, ValueError):
        pass
    # Convex's decoder also takes base64 without its `=` padding.
    padding = -len(payload) % 4
    try:
        return binascii.a2b_base64(payload + "=" * padding, strict_mode=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"Malformed {what} field: {payload!r} is not valid base64") from None


def decode_int64(payload: object) -> Int64:
    """Decode an `$integer` payload (exactly 8 little-endian bytes in base64)."""
    raw = _b64decode(payload, "$integer")
    if len(raw) != 8:
        raise _invalid(f"Int64 must be exactly eight bytes (received {len(raw)} bytes)")
    return Int64(_I64_LE.unpack(raw)[0])


def decode_float_bits(payload: object) -> float:
    """Decode a `$float` payload; only NaN, ±infinity and -0.0 may use this form."""
    raw = _b64decode(payload, "$float")
    if len(raw) != 8:
        raise _invalid(f"Float64 must be exactly eight bytes (received {len(raw)} bytes)")
    f: float = _F64_LE.unpack(raw)[0]
    if not is_special_float(f):
        raise _invalid(f"Float64 {f!r} should be encoded as a number")
    return f


def _decode_special(key: str, payload: object, depth: int, undefined: bool, commit_ts: bool) -> Any:
    if key == "$integer":
        return decode_int64(payload)
    if key == "$float":
        return decode_float_bits(payload)
    if key == "$bytes":
        return _b64decode(payload, "$bytes")
    if key == "$undefined" and undefined and depth <= 2:
        if payload is not None:
            raise _invalid(f"Malformed $undefined field: expected null, got {payload!r}")
        return UNDEFINED
    if key == "$commitTs" and commit_ts:
        if payload is not None:
            raise _invalid("$commitTs value must be null")
        return COMMIT_TS
    if key == "$set" or key == "$map":
        kind = "Set" if key == "$set" else "Map"
        raise _invalid(f"Received a {kind} which is no longer supported as a Convex type.")
    if key == "$undefined":
        raise _invalid(
            'undefined is not a valid Convex value here: {"$undefined": null} is only '
            "allowed in filter expressions and patches"
        )
    raise field_name_error(key) or _invalid(f"Unexpected key {key}")


def _decode(obj: Any, depth: int, undefined: bool, commit_ts: bool, ints: bool = False) -> Any:
    """Decode a JSON container at nesting level `depth` (the top container is level 1)."""
    t = type(obj)
    if t is dict:
        if len(obj) == 1:
            for key, payload in obj.items():
                if key[:1] == "$":
                    return _decode_special(key, payload, depth, undefined, commit_ts)
        if depth > MAX_NESTING:
            raise _too_nested(depth)
        if len(obj) > MAX_OBJECT_FIELDS:
            raise _too_many_fields(len(obj))
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if not (
                k.isascii() and k.isprintable() and k[:1] != "$" and len(k) <= MAX_FIELD_NAME_LEN
            ):
                raise field_name_error(k)  # type: ignore[misc]
            tv = type(v)
            if tv is str or tv is float or tv is bool or v is None:
                out[k] = v
            elif tv is int:
                out[k] = v if ints and -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER else float(v)
            else:
                out[k] = _decode(v, depth + 1, undefined, commit_ts, ints)
        return out
    if t is list:
        if depth > MAX_NESTING:
            raise _too_nested(depth)
        if len(obj) > MAX_ARRAY_LEN:
            raise _array_too_long(len(obj))
        items: list[Any] = []
        append = items.append
        for v in obj:
            tv = type(v)
            if tv is str or tv is float or tv is bool or v is None:
                append(v)
            elif tv is int:
                append(v if ints and -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER else float(v))
            else:
                item = _decode(v, depth + 1, False, commit_ts, ints)
                if item is UNDEFINED:
                    raise _invalid("undefined is not a valid Convex value inside an array")
                append(item)
        return items
    if t is int:
        return obj if ints and -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER else float(obj)
    if t is str or t is float or t is bool or obj is None:
        return obj
    raise _invalid(f"{t.__name__} {obj!r} is not a JSON value")


def from_json(
    obj: Any, *, undefined: bool = False, commit_ts: bool = False, ints: bool = False
) -> Value:
    """Decode a Convex-encoded JSON tree as received from a client.

    Every JSON number becomes a float64 — with `ints=True` (the Python runtime) a JSON
    integer up to 2**53 stays an `int`, so a Python function's `int` survives the trip.
    `undefined=True` accepts `{"$undefined": null}` as the top value or a top-level object
    field (filter literals, patches); `commit_ts=True` accepts the `{"$commitTs": null}`
    placeholder. Raises `BadRequest` for anything that is not a valid Convex value; the
    total 32 MiB size is checked by `loads`, not here.
    """
    t = type(obj)
    if t is str or t is float or t is bool or obj is None:
        return obj
    if t is int:
        return obj if ints and -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER else float(obj)
    return _decode(obj, 1, undefined, commit_ts, ints)


def loads(data: bytes | bytearray | memoryview | str, **options: bool) -> Value:
    """Parse Convex-encoded JSON text (see `from_json` for the options)."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"Invalid JSON: {e}", code="InvalidJson") from None
    value = from_json(obj, **options)
    if len(data) > _SIZE_CHECK_TEXT_LEN and not options.get("ints"):
        check_value(value, commit_ts=options.get("commit_ts", False))
    return value


# --------------------------------------------------------------------------- other formats


def to_clean_json(value: Value) -> Any:
    """The clean `json` format (HTTP output only; lossy).

    Int64 as a decimal string, NaN as "NaN", ±inf as "Infinity"/"-Infinity", bytes as a
    base64 string; everything else as plain JSON.
    """
    t = type(value)
    if t is str or t is bool or value is None:
        return value
    if t is float:
        if math.isnan(value):  # type: ignore[arg-type]
            return "NaN"
        if math.isinf(value):  # type: ignore[arg-type]
            return "Infinity" if value > 0 else "-Infinity"  # type: ignore[operator]
        return value
    if t is dict:
        return {k: to_clean_json(value[k]) for k in sorted(value)}  # type: ignore[index]
    if t is list:
        return [to_clean_json(v) for v in value]  # type: ignore[union-attr]
    if t is Int64:
        return str(value.value)  # type: ignore[union-attr]
    if t is bytes:
        return _b64(value)  # type: ignore[arg-type]
    return _encode_other(value)


def to_export_json(value: Value) -> Any:
    """The export format of snapshot ZIPs (`export_json`).

    Int64 as a bare JSON integer, finite floats (including -0.0) as JSON numbers — orjson
    writes a float always with a fraction or exponent (`1.0`), which is how an importer tells
    them from integers — NaN/±inf as `$float`, bytes as `$bytes`.
    """
    t = type(value)
    if t is str or t is bool or value is None:
        return value
    if t is float:
        if value - value == 0.0:  # type: ignore[operator]
            return value
        return {"$float": encode_float_bits(value)}  # type: ignore[arg-type]
    if t is dict:
        return {k: to_export_json(value[k]) for k in sorted(value)}  # type: ignore[index]
    if t is list:
        return [to_export_json(v) for v in value]  # type: ignore[union-attr]
    if t is Int64:
        return value.value  # type: ignore[union-attr]
    if t is bytes:
        return {"$bytes": _b64(value)}  # type: ignore[arg-type]
    return _encode_other(value)


def dumps_export(value: Value) -> bytes:
    """`value` as one line of an export `documents.jsonl` (without the newline)."""
    return orjson.dumps(to_export_json(value))


def from_export_json(obj: Any) -> Value:
    """Decode the export format: JSON integers that fit in 64 bits are Int64, other numbers
    float64; an object whose first key (in sorted order) starts with `$` is decoded as
    Convex-encoded JSON, as Convex's importer does."""
    t = type(obj)
    if t is str or t is bool or obj is None or t is float:
        return obj
    if t is int:
        if -(2**63) <= obj < 2**63:
            return Int64(obj)
        return float(obj)
    if t is list:
        if len(obj) > MAX_ARRAY_LEN:
            raise _array_too_long(len(obj))
        return [from_export_json(v) for v in obj]
    if t is dict:
        if obj and min(obj).startswith("$"):
            return from_json(obj)
        if len(obj) > MAX_OBJECT_FIELDS:
            raise _too_many_fields(len(obj))
        out: dict[str, Value] = {}
        for k, v in obj.items():
            error = field_name_error(k)
            if error is not None:
                raise error
            out[k] = from_export_json(v)
        return out
    raise _invalid(f"{t.__name__} {obj!r} is not a JSON value")


def encode_for_format(value: Value, fmt: str) -> Any:
    """Encode `value` for an HTTP `format` parameter.

    "convex_encoded_json" (alias "convex_json"), "json" (alias "convex_clean_json") or
    "export_json"; anything else is a `BadRequest` with code `BadFormat`.
    """
    kind = _FORMATS.get(fmt)
    if kind == "convex_encoded_json":
        return to_json(value)
    if kind == "json":
        return to_clean_json(value)
    if kind == "export_json":
        return to_export_json(value)
    raise BadRequest(f"format param must be one of [`json`]. Got {fmt}", code="BadFormat")
