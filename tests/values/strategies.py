"""Hypothesis strategies for Convex values, for any test that needs them::

from tests.values.strategies import convex_values, documents, similar_values
"""

from __future__ import annotations

import math
import struct

from hypothesis import strategies as st

from bayou.values.model import INT64_MAX, INT64_MIN, Int64

_INT64_EDGES = [
    0,
    1,
    -1,
    127,
    128,
    -128,
    -129,
    255,
    32767,
    32768,
    -32768,
    -32769,
    2**31 - 1,
    2**31,
    -(2**31),
    -(2**31) - 1,
    2**53,
    2**53 + 1,
    INT64_MAX,
    INT64_MIN,
]


def float_from_bits(bits: int) -> float:
    """The float64 whose IEEE 754 bit pattern is `bits`."""
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def float_bits(f: float) -> int:
    """The IEEE 754 bit pattern of `f`."""
    return struct.unpack("<Q", struct.pack("<d", f))[0]


CANONICAL_NAN = float_from_bits(0x7FF8_0000_0000_0000)
NEGATIVE_NAN = float_from_bits(0xFFF8_0000_0000_0000)

int64s = st.one_of(st.sampled_from(_INT64_EDGES), st.integers(INT64_MIN, INT64_MAX)).map(Int64)
"""Int64 values, biased to the edges of each sort-key width."""

nans = st.builds(
    lambda negative, payload: float_from_bits((negative << 63) | (0x7FF << 52) | payload),
    st.booleans(),
    st.integers(1, 2**52 - 1),
)
"""NaNs of both signs with arbitrary payloads (Convex keeps the bits)."""

quiet_nans = nans.map(lambda f: float_from_bits(float_bits(f) | (1 << 51)))
"""NaNs with the quiet bit set: JS engines quiet signaling NaNs, so only these survive a
round trip through a JS client bit for bit."""

special_floats = st.sampled_from(
    [
        0.0,
        -0.0,
        math.inf,
        -math.inf,
        CANONICAL_NAN,
        NEGATIVE_NAN,
        5e-324,
        -5e-324,
        1.7976931348623157e308,
    ]
)

float64s = st.one_of(st.floats(allow_nan=False), special_floats, nans)
"""Float64 values: every finite float, ±inf, ±0.0 and NaNs with any payload and sign."""

field_names = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=10
).filter(lambda name: not name.startswith("$"))
"""Valid object field names (printable ASCII, no leading `$`, possibly empty)."""

strings = st.text(max_size=16)
"""Strings of any Unicode scalar values (including NUL), never lone surrogates."""


def convex_value_strategy(
    *,
    floats: st.SearchStrategy[float] = float64s,
    names: st.SearchStrategy[str] = field_names,
    max_leaves: int = 20,
) -> st.SearchStrategy:
    """Arbitrary Convex values built from the given float and field-name strategies."""
    scalars = st.one_of(st.none(), st.booleans(), floats, int64s, strings, st.binary(max_size=16))
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(names, children, max_size=5),
        ),
        max_leaves=max_leaves,
    )


convex_values = convex_value_strategy()
"""Arbitrary Convex values: Int64 extremes, special floats, -0.0, bytes, nested objects."""

user_field_names = field_names.filter(lambda name: not name.startswith("_"))

documents = st.dictionaries(user_field_names, convex_values, max_size=8)
"""Document bodies: objects whose top-level names are valid user fields (no `_` prefix)."""

_similar_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, math.inf, -math.inf, CANONICAL_NAN, NEGATIVE_NAN]),
    st.sampled_from([0, 1, -1, 127, 128, -129, INT64_MAX, INT64_MIN]).map(Int64),
    st.text(alphabet=["a", "b", "\x00", "é", "😀", "\uffff"], max_size=3),
    st.binary(max_size=3).map(lambda b: bytes(x % 3 * 127 for x in b)),
)

similar_values = st.recursive(
    _similar_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["", "a", "b", "ab", "_"]), children, max_size=3),
    ),
    max_leaves=6,
)
"""Values from small domains, so that equal and nearly equal values are common (for order
tests). NaNs are the canonical ones of each sign."""
