"""Values written the way Convex's messages write them (`{a: 1.0, b: "x"}`, `[1, b"AA=="]`).

Convex's backend prints values in validator and document errors with its own notation:
Int64 as a bare decimal, Float64 always with a fraction or exponent (`1.0`, `1e16`, `NaN`,
`inf`), strings quoted with Rust escapes, bytes as `b"<base64>"`, and object fields sorted
by name without quotes. Users compare these messages with the ones Convex shows, so we
produce the same text.
"""

from __future__ import annotations

import base64
import math

from bayou.values.model import CommitTsPlaceholder, Int64, Undefined

_NAMED_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def format_value(value: object) -> str:
    """The value in Convex's message notation."""
    t = type(value)
    if value is None:
        return "null"
    if t is bool:
        return "true" if value else "false"
    if t is float:
        return format_float(value)  # type: ignore[arg-type]
    if t is Int64:
        return str(value.value)  # type: ignore[union-attr]
    if t is str:
        return quote_string(value)  # type: ignore[arg-type]
    if t is bytes:
        return "b" + quote_string(base64.b64encode(value).decode())  # type: ignore[arg-type]
    if t is list:
        return "[" + ", ".join(format_value(v) for v in value) + "]"  # type: ignore[attr-defined]
    if t is dict:
        items = sorted(value.items())  # type: ignore[attr-defined]
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in items) + "}"
    if t is Undefined:
        return "undefined"
    if t is CommitTsPlaceholder:
        return "[unresolved commit timestamp]"
    return repr(value)


def format_float(f: float) -> str:
    """A float64 as Rust's `{:?}` writes it: `1.0`, `-0.0`, `1e16`, `1.5e-7`, `NaN`, `inf`."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    text = repr(f)
    if "e" in text:
        # Python writes 1e+16 / 1e-05 where Rust writes 1e16 / 1e-5.
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else ""
        return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text


def format_json_number(f: float) -> str:
    """A finite float as Convex's JSON writer (ryu) prints it: `1.0`, `0.00001`, `1e-6`, `1e16`.

    NaN and infinities have no JSON form; they print as `<number>` (as in `v.literal(…)`).
    """
    if f != f or f - f != 0.0:
        return "<number>"
    if f == 0.0:
        return "-0.0" if math.copysign(1.0, f) < 0 else "0.0"
    sign = "-" if f < 0 else ""
    digits, point = _shortest_digits(abs(f))
    if len(digits) <= point <= 16:
        return f"{sign}{digits}{'0' * (point - len(digits))}.0"
    if 0 < point <= 16:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -5 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    exp = point - 1
    if len(digits) == 1:
        return f"{sign}{digits}e{exp}"
    return f"{sign}{digits[0]}.{digits[1:]}e{exp}"


def _shortest_digits(f: float) -> tuple[str, int]:
    """(digits, point): `f` == 0.<digits> × 10**point with the fewest round-trip digits."""
    text = repr(f)
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    if fraction == "0":
        fraction = ""
    digits = (whole + fraction).lstrip("0")
    leading_zeros = len(whole + fraction) - len((whole + fraction).lstrip("0"))
    point = len(whole) - leading_zeros + (int(exponent) if exponent else 0)
    return digits.rstrip("0") or "0", point


def quote_string(s: str) -> str:
    """A string quoted with Rust's debug escapes (`"a\\"b"`, control characters as `\\u{1f}`)."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'
    out = []
    for ch in s:
        named = _NAMED_ESCAPES.get(ch)
        if named is not None:
            out.append(named)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\u{{{ord(ch):x}}}")
    return '"' + "".join(out) + '"'
