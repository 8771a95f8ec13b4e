"""Document ids, byte-exact with Convex's (version 0 of the "id v6" format).

    binary = VInt(table number) ‖ internal id (16 bytes) ‖ footer (2 bytes, little-endian)
    footer = fletcher16(VInt ‖ internal id) XOR 0
    string = Crockford base32 (lowercase "0123456789abcdefghjkmnpqrstvwxyz"), no padding

The table number is a VInt (7 bits a byte, low bits first, high bit = more follows), 1 to
5 bytes, so ids are 31, 32, 34, 36 or 37 characters long (user tables, numbered from
10001, get 32). The internal id is 14 random bytes and the big-endian day number. Only the
canonical string of an id decodes: anything else is an `InvalidId` error.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import time
from typing import Final

from bayou.errors import BadRequest
from bayou.values.entropy import random_bytes

INTERNAL_ID_LEN: Final = 16
VALID_ID_LENGTHS: Final = frozenset({31, 32, 34, 36, 37})
MAX_TABLE_NUMBER: Final = 2**32 - 1
_VERSION: Final = 0
_MS_PER_DAY: Final = 86_400_000

_CROCKFORD: Final = "0123456789abcdefghjkmnpqrstvwxyz"
_RFC4648: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_CROCKFORD: Final = str.maketrans(_RFC4648, _CROCKFORD)
_TO_RFC4648: Final = str.maketrans(_CROCKFORD, _RFC4648)
_ID_CHARS: Final = re.compile(r"[0-9a-hjkmnp-tv-z]+")


def _invalid_id(message: str) -> BadRequest:
    return BadRequest(message, code="InvalidId")


def _base32_encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").translate(_TO_CROCKFORD)


def _base32_decode(text: str) -> bytes:
    padded = text.translate(_TO_RFC4648) + "=" * (-len(text) % 8)
    return base64.b32decode(padded)


def _fletcher16(data: bytes) -> int:
    c0 = c1 = 0
    for byte in data:
        c0 = (c0 + byte) & 0xFF
        c1 = (c1 + c0) & 0xFF
    return (c1 << 8) | c0


def _vint_encode(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _vint_decode(data: bytes) -> tuple[int, int]:
    """(number, bytes read); the caller's canonical re-encoding rejects overlong forms."""
    n = 0
    for i in range(5):
        if i >= len(data):
            raise _invalid_id("Unable to decode ID: Invalid table number")
        byte = data[i]
        n |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            return n, i + 1
    raise _invalid_id("Unable to decode ID: Invalid table number")


def encode_id(table_number: int, internal_id: bytes) -> str:
    """The id string of document `internal_id` (16 bytes) in table `table_number` (≥ 1)."""
    if type(table_number) is not int or not 1 <= table_number <= MAX_TABLE_NUMBER:
        raise ValueError(f"table number must be in 1..{MAX_TABLE_NUMBER}, got {table_number!r}")
    if len(internal_id) != INTERNAL_ID_LEN:
        raise ValueError(f"internal id must be {INTERNAL_ID_LEN} bytes, got {len(internal_id)}")
    body = _vint_encode(table_number) + bytes(internal_id)
    footer = _fletcher16(body) ^ _VERSION
    return _base32_encode(body + footer.to_bytes(2, "little"))


def decode_id(s: str) -> tuple[int, bytes]:
    """The (table number, internal id) of an id string; `BadRequest(code="InvalidId")` for
    anything that is not the canonical encoding of an id."""
    if type(s) is not str:
        raise _invalid_id(f"Unable to decode ID: expected a string, got {type(s).__name__}")
    return _decode_cached(s)


@functools.lru_cache(maxsize=65536)
def _decode_cached(s: str) -> tuple[int, bytes]:
    # Every database read and write decodes ids, mostly the same hot ones; only valid ids
    # are cached (a raised error is not), so the cache cannot be filled with garbage forever.
    if len(s) not in VALID_ID_LENGTHS:
        raise _invalid_id(f"Unable to decode ID: Invalid ID length {len(s)}")
    if not _ID_CHARS.fullmatch(s):
        raise _invalid_id("Unable to decode ID: ID wasn't valid base32")
    try:
        raw = _base32_decode(s)
    except (binascii.Error, ValueError):
        raise _invalid_id("Unable to decode ID: ID wasn't valid base32") from None
    table_number, pos = _vint_decode(raw)
    if table_number == 0:
        raise _invalid_id("Unable to decode ID: Invalid table number")
    if len(raw) != pos + INTERNAL_ID_LEN + 2:
        raise _invalid_id(f"Unable to decode ID: Invalid ID length {len(s)}")
    internal_id = raw[pos : pos + INTERNAL_ID_LEN]
    footer = int.from_bytes(raw[pos + INTERNAL_ID_LEN :], "little")
    expected = _fletcher16(raw[: pos + INTERNAL_ID_LEN]) ^ _VERSION
    if footer != expected:
        raise _invalid_id(f"Unable to decode ID: Invalid ID version {footer} (expected {expected})")
    if table_number > MAX_TABLE_NUMBER or encode_id(table_number, internal_id) != s:
        raise _invalid_id(f"Unable to decode ID: Invalid ID length {len(s)}")
    return table_number, internal_id


def is_valid_id(s: object) -> bool:
    """True when `s` is the canonical string of some document id."""
    if type(s) is not str or len(s) not in VALID_ID_LENGTHS:
        return False
    try:
        decode_id(s)
    except BadRequest:
        return False
    return True


def table_number_of(s: str) -> int | None:
    """The table number of an id string, or None when it is not a valid id."""
    try:
        return decode_id(s)[0]
    except BadRequest:
        return None


def new_internal_id(now_ms: float | None = None) -> bytes:
    """A fresh internal id: 14 random bytes and the 2-byte big-endian day number."""
    if now_ms is None:
        now_ms = time.time() * 1000.0
    day = int(now_ms // _MS_PER_DAY)
    if not 0 <= day <= 0xFFFF:
        raise ValueError(f"day number {day} does not fit into two bytes")
    return random_bytes(14) + day.to_bytes(2, "big")


def day_of(internal_id: bytes) -> int:
    """The day number (days since the Unix epoch) stored in an internal id."""
    return int.from_bytes(internal_id[14:16], "big")
