"""Sort keys: the self-delimiting byte encoding that defines Convex's total order on values.

`encode(a) < encode(b)` (plain byte comparison) exactly when `a` sorts before `b` in
Convex's order, so index keys can be stored as blobs and range-scanned with memcmp::

    undefined 0x01 < null 0x03 < Int64 0x04..0x0C < Float64 0x0D < false 0x0E < true 0x0F
    < String 0x10 < Bytes 0x11 < Array 0x12 < Object 0x15

Int64s use a tag `0x08 ± k` (k = 1, 2, 3, 4 for 1, 2, 4, 8 big-endian two's-complement
bytes, minimal width; zero is the bare tag). Floats are 8 big-endian bytes with the sign bit
flipped (all bits flipped when negative): IEEE totalOrder, so -NaN < -inf < -0.0 < 0.0 <
inf < NaN. Strings and bytes escape 0x00 as 0x00 0xFF and end with 0x00. Arrays are their
elements' keys then 0x00; objects are, per field in name order, the escaped name (the empty
name as 0x00 0xFF) and the value's key, then 0x00. Every key is self-delimiting, so the
concatenation of several keys (an index key) sorts like the tuple.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any, Final

from bayou.errors import BadRequest
from bayou.values.model import COMMIT_TS, INT64_MAX, UNDEFINED, Int64, Value

UNDEFINED_TAG: Final = 0x01
NULL_TAG: Final = 0x03
ZERO_INT64_TAG: Final = 0x08
FLOAT64_TAG: Final = 0x0D
FALSE_TAG: Final = 0x0E
TRUE_TAG: Final = 0x0F
STRING_TAG: Final = 0x10
BYTES_TAG: Final = 0x11
ARRAY_TAG: Final = 0x12
OBJECT_TAG: Final = 0x15
TERMINATOR: Final = 0x00
ESCAPE: Final = 0xFF

_F64_BE: Final = struct.Struct(">d")
_U64_BE: Final = struct.Struct(">Q")
_SIGN: Final = 1 << 63
_ALL: Final = (1 << 64) - 1
_INT_LAYOUT: Final = (  # (upper bound, width, positive tag, negative tag)
    (1 << 7, 1, b"\x09", b"\x07"),
    (1 << 15, 2, b"\x0a", b"\x06"),
    (1 << 31, 4, b"\x0b", b"\x05"),
    (1 << 63, 8, b"\x0c", b"\x04"),
)


def _int_key(n: int) -> bytes:
    if n == 0:
        return b"\x08"
    for bound, width, pos_tag, neg_tag in _INT_LAYOUT:
        if -bound <= n < bound:
            return (pos_tag if n > 0 else neg_tag) + n.to_bytes(width, "big", signed=True)
    raise BadRequest(f"Int64 {n} out of range", code="InvalidValue")


def _float_key(f: float) -> bytes:
    bits = _U64_BE.unpack(_F64_BE.pack(f))[0]
    bits = bits ^ _ALL if bits & _SIGN else bits | _SIGN
    return b"\x0d" + _U64_BE.pack(bits)


def _write(value: Any, out: bytearray) -> None:
    t = type(value)
    if t is str:
        raw = value.encode("utf-8")
        if b"\x00" in raw:
            raw = raw.replace(b"\x00", b"\x00\xff")
        out += b"\x10"
        out += raw
        out += b"\x00"
    elif t is float:
        bits = _U64_BE.unpack(_F64_BE.pack(value))[0]
        out += b"\x0d"
        out += _U64_BE.pack(bits ^ _ALL if bits & _SIGN else bits | _SIGN)
    elif t is dict:
        out += b"\x15"
        for k in sorted(value):
            if k:
                out += k.encode("utf-8")
                out += b"\x00"
            else:
                out += b"\x00\xff"
            _write(value[k], out)
        out += b"\x00"
    elif t is list:
        out += b"\x12"
        for v in value:
            _write(v, out)
        out += b"\x00"
    elif t is bool:
        out += b"\x0f" if value else b"\x0e"
    elif value is None:
        out += b"\x03"
    elif t is Int64:
        out += _int_key(value.value)
    elif t is bytes:
        out += b"\x11"
        out += value.replace(b"\x00", b"\x00\xff") if b"\x00" in value else value
        out += b"\x00"
    elif value is UNDEFINED:
        out += b"\x01"
    elif value is COMMIT_TS:
        # A mutation's own pending rows: its commit timestamp sorts after every stored one.
        out += _int_key(INT64_MAX)
    else:
        raise _not_sortable(value)


def _not_sortable(value: object) -> BadRequest:
    if value is COMMIT_TS:
        return BadRequest(
            "The commit timestamp placeholder has no sort key until the mutation commits",
            code="InvalidValue",
        )
    return BadRequest(
        f"{type(value).__name__} {value!r} is not a Convex value", code="InvalidValue"
    )


def encode(value: Value | Any) -> bytes:
    """The sort key of `value` (`UNDEFINED`, a missing field, encodes as 0x01)."""
    t = type(value)
    # The common index fields (strings, numbers) skip the bytearray.
    if t is str:
        raw = value.encode("utf-8")
        if b"\x00" in raw:
            raw = raw.replace(b"\x00", b"\x00\xff")
        return b"\x10" + raw + b"\x00"
    if t is float:
        bits = _U64_BE.unpack(_F64_BE.pack(value))[0]
        return b"\x0d" + _U64_BE.pack(bits ^ _ALL if bits & _SIGN else bits | _SIGN)
    out = bytearray()
    _write(value, out)
    return bytes(out)


def encode_values(values: Iterable[Value | Any]) -> bytes:
    """The concatenated sort keys of `values`: an index key (tuple order)."""
    return b"".join([encode(value) for value in values])


def compare(a: Value | Any, b: Value | Any) -> int:
    """Convex's total order: -1, 0 or 1 as `a` sorts before, with or after `b`."""
    ka = encode(a)
    kb = encode(b)
    return (ka > kb) - (ka < kb)


def prefix_successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string that starts with `prefix`.

    None when there is none (an empty prefix, or only 0xFF bytes): the range is unbounded.
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes((stripped[-1] + 1,))


# --------------------------------------------------------------------------- decoding


def _corrupt(message: str) -> BadRequest:
    return BadRequest(f"Invalid sort key: {message}", code="InvalidSortKey")


def _read_escaped(data: bytes, pos: int) -> tuple[bytes, int]:
    """Read an escaped, 0x00-terminated byte string starting at `pos`."""
    end = data.find(b"\x00", pos)
    if end < 0:
        raise _corrupt("unterminated string")
    if end + 1 >= len(data) or data[end + 1] != ESCAPE:
        return data[pos:end], end + 1
    parts = []
    while True:
        if end < 0:
            raise _corrupt("unterminated string")
        parts.append(data[pos:end])
        if end + 1 < len(data) and data[end + 1] == ESCAPE:
            parts.append(b"\x00")
            pos = end + 2
            end = data.find(b"\x00", pos)
            continue
        return b"".join(parts), end + 1


# tag -> (payload width, smallest canonical value, largest canonical value)
_INT_TAGS: Final = {
    0x04: (8, -(2**63), -(2**31) - 1),
    0x05: (4, -(2**31), -(2**15) - 1),
    0x06: (2, -(2**15), -(2**7) - 1),
    0x07: (1, -(2**7), -1),
    0x09: (1, 1, 2**7 - 1),
    0x0A: (2, 2**7, 2**15 - 1),
    0x0B: (4, 2**15, 2**31 - 1),
    0x0C: (8, 2**31, 2**63 - 1),
}


def _read_int(tag: int, data: bytes, pos: int) -> tuple[Int64, int]:
    if tag == ZERO_INT64_TAG:
        return Int64(0), pos
    width, low, high = _INT_TAGS[tag]
    if pos + width > len(data):
        raise _corrupt("truncated integer")
    n = int.from_bytes(data[pos : pos + width], "big", signed=True)
    if not low <= n <= high:
        raise _corrupt(f"non-canonical integer {n} with tag {tag:#04x}")
    return Int64(n), pos + width


def _read(data: bytes, pos: int) -> tuple[Any, int]:
    if pos >= len(data):
        raise _corrupt("unexpected end of key")
    tag = data[pos]
    pos += 1
    if tag == STRING_TAG:
        raw, pos = _read_escaped(data, pos)
        try:
            return raw.decode("utf-8"), pos
        except UnicodeDecodeError:
            raise _corrupt("string is not valid UTF-8") from None
    if tag == FLOAT64_TAG:
        if pos + 8 > len(data):
            raise _corrupt("truncated float")
        bits = _U64_BE.unpack_from(data, pos)[0]
        bits = bits & ~_SIGN if bits & _SIGN else bits ^ _ALL
        return _F64_BE.unpack(_U64_BE.pack(bits))[0], pos + 8
    if 0x04 <= tag <= 0x0C:
        return _read_int(tag, data, pos)
    if tag == NULL_TAG:
        return None, pos
    if tag == FALSE_TAG:
        return False, pos
    if tag == TRUE_TAG:
        return True, pos
    if tag == BYTES_TAG:
        return _read_escaped(data, pos)
    if tag == ARRAY_TAG:
        items = []
        while True:
            if pos >= len(data):
                raise _corrupt("unterminated array")
            if data[pos] == TERMINATOR:
                return items, pos + 1
            item, pos = _read(data, pos)
            items.append(item)
    if tag == OBJECT_TAG:
        return _read_object(data, pos)
    raise _corrupt(f"unrecognized tag {tag:#04x}")


FIXED_WIDTH: Final = {  # tag -> bytes of the whole value
    UNDEFINED_TAG: 1, NULL_TAG: 1, ZERO_INT64_TAG: 1, FALSE_TAG: 1, TRUE_TAG: 1,
    FLOAT64_TAG: 9, **{tag: 1 + width for tag, (width, _, _) in _INT_TAGS.items()},
}  # fmt: skip


def first_length(key: bytes) -> int:
    """The length of the first value's key at the start of `key` (an index key is several
    keys in a row). Raises on a key that does not start with a whole value."""
    if not key:
        raise _corrupt("unexpected end of key")
    tag = key[0]
    width = FIXED_WIDTH.get(tag)
    if width is not None:
        if width > len(key):
            raise _corrupt("truncated value")
        return width
    if tag in (STRING_TAG, BYTES_TAG):
        return _read_escaped(key, 1)[1]
    return _read(key, 0)[1]


def _read_object(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
    fields: dict[str, Any] = {}
    while True:
        if pos >= len(data):
            raise _corrupt("unterminated object")
        if data[pos] == TERMINATOR:
            if pos + 1 < len(data) and data[pos + 1] == ESCAPE:
                name = ""
                pos += 2
            else:
                return fields, pos + 1
        else:
            raw, pos = _read_escaped(data, pos)
            try:
                name = raw.decode("ascii")
            except UnicodeDecodeError:
                raise _corrupt("field name is not ASCII") from None
        if name in fields:
            raise _corrupt(f"duplicate field {name!r}")
        fields[name], pos = _read(data, pos)


def decode(data: bytes, offset: int = 0) -> tuple[Value | Any, int]:
    """Decode the sort key at `offset`: the value (`UNDEFINED` for 0x01) and the next offset."""
    if offset < len(data) and data[offset] == UNDEFINED_TAG:
        return UNDEFINED, offset + 1
    return _read(data, offset)


def decode_all(data: bytes) -> list[Value | Any]:
    """Decode a concatenation of sort keys (an index key) into its values."""
    values = []
    pos = 0
    while pos < len(data):
        value, pos = decode(data, pos)
        values.append(value)
    return values
