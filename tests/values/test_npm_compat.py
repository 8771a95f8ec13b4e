"""Compatibility of bayou.values with the official npm `convex` package (`convex/values`).

One Node process per module answers every example (see conftest.py and npm_compat.cjs):
- values Bayou encodes decode with `jsonToConvex` and re-encode with `convexToJson` to the
  very same JSON (same keys, same numbers, same `$` encodings), and `getConvexSize` agrees
  with `value_size`. Key order: Bayou writes keys sorted (as Convex's backend does);
  `convexToJson` sorts too, but a JS object always enumerates array-index-like keys ("0",
  "12") first, so JS text has those first — asserted exactly by `js_key_order`;
- values the JS side generates decode in Bayou and re-encode to the same JSON;
- `compareValues` (exported by `convex/values`) orders values exactly as Bayou's sort keys;
- validator JSON from the `v` builders round-trips through `Validator`.
The npm package has no id validation (no base32/fletcher code), so ids are not checked here.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayou.values import sort_key
from bayou.values.json import from_json, to_json
from bayou.values.limits import value_size
from bayou.values.validators import Validator, args_validator_from_json
from tests.values.strategies import (
    convex_value_strategy,
    field_names,
    float_from_bits,
    quiet_nans,
    similar_values,
    special_floats,
)

pytestmark = pytest.mark.compat

_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def js_key_order(keys) -> list[str]:
    """The order a JS object enumerates `keys` inserted in sorted order: array-index-like
    keys ("0", "17") first, numerically, then the rest as inserted. `convexToJson` sorts the
    keys but builds a plain object, so this is the order JS clients write."""

    def is_index(key: str) -> bool:
        return key.isdigit() and (key == "0" or key[0] != "0") and int(key) < 2**32 - 1

    ordered = sorted(keys)
    return sorted((k for k in ordered if is_index(k)), key=int) + [
        k for k in ordered if not is_index(k)
    ]


def same_json(ours, theirs) -> bool:
    """Equal JSON trees; `ours` has its keys sorted, `theirs` (from JS) in JS order; numbers
    compare as float64 values."""
    if isinstance(ours, dict):
        return (
            isinstance(theirs, dict)
            and list(ours) == sorted(ours)
            and list(theirs) == js_key_order(ours)
            and all(same_json(ours[k], theirs[k]) for k in ours)
        )
    if isinstance(ours, list):
        return (
            isinstance(theirs, list)
            and len(ours) == len(theirs)
            and all(map(same_json, ours, theirs))
        )
    if type(ours) in (int, float) and type(theirs) in (int, float):
        return float(ours) == float(theirs)
    return type(ours) is type(theirs) and ours == theirs


def _through_json_text(obj):
    # What crosses the wire is text: make sure orjson's text is what Node parses.
    return orjson.loads(orjson.dumps(obj))


# V8 quiets signaling NaNs (sets bit 51) when it reads a `$float`, so only quiet NaNs keep
# their bits through a JS client; the backend itself keeps any NaN.
# `jsonToConvex` assigns fields to a plain object, so a field named "__proto__" sets the
# prototype instead (see test_npm_loses_a_proto_field); it is left out of these values.
_js_names = field_names.filter(lambda name: name != "__proto__")
_js_values = convex_value_strategy(
    floats=st.one_of(st.floats(allow_nan=False), special_floats, quiet_nans), names=_js_names
)


# NaNs of one bit pattern per sign: see test_npm_orders_negative_nan_payloads_backwards.
_comparable_values = st.one_of(
    similar_values,
    convex_value_strategy(
        floats=st.one_of(st.floats(allow_nan=False), special_floats), names=_js_names
    ),
)


@_settings
@given(st.lists(_js_values, min_size=1, max_size=10))
def test_bayou_encodings_round_trip_through_npm_unchanged(npm_values, values):
    encoded = [to_json(v) for v in values]
    answer = npm_values.call("roundtrip", values=_through_json_text(encoded))
    for ours, theirs in zip(encoded, answer["json"], strict=True):
        assert same_json(ours, theirs), (ours, theirs)
    assert answer["sizes"] == [value_size(v) for v in values]


@pytest.mark.parametrize("seed", range(1, 21))
def test_npm_generated_values_round_trip_through_bayou_unchanged(npm_values, seed):
    answer = npm_values.call("generate", seed=seed, count=60)
    decoded = [from_json(j) for j in answer["json"]]
    for value, theirs in zip(decoded, answer["json"], strict=True):
        assert same_json(to_json(value), theirs), (value, theirs)
    keys = [sort_key.encode(v) for v in decoded]
    our_order = sorted(range(len(keys)), key=lambda i: (keys[i], i))
    assert our_order == answer["order"]


@_settings
@given(st.lists(_comparable_values, min_size=2, max_size=8))
def test_npm_compare_values_orders_like_sort_keys(npm_values, values):
    answer = npm_values.call("compare", values=_through_json_text([to_json(v) for v in values]))
    ours = [[sort_key.compare(a, b) for b in values] for a in values]
    assert answer["matrix"] == ours


def test_npm_quiets_signaling_nans(npm_values):
    """V8 sets the quiet bit of a signaling NaN it decodes: a JS client cannot carry one."""
    signaling = float_from_bits(0x7FF0_0000_0000_0001)
    answer = npm_values.call("roundtrip", values=[to_json(signaling)])
    assert answer["json"][0] == to_json(float_from_bits(0x7FF8_0000_0000_0001))


def test_npm_loses_a_proto_field(npm_values):
    """`jsonToConvex` writes fields into `{}`, so "__proto__" becomes the prototype: the
    field silently disappears in JS (Convex's backend and Bayou keep it)."""
    value = {"__proto__": {"a": 1.0}, "b": 2.0}
    assert from_json(to_json(value)) == value
    answer = npm_values.call("roundtrip", values=[to_json(value)])
    assert answer["json"] == [{"b": 2.0}]


def test_npm_orders_negative_nan_payloads_backwards(npm_values):
    """A known divergence: `compareValues` compares two negative NaNs by their signed bit
    patterns, while Convex's backend (Rust `f64::total_cmp`, hence index order) puts the
    larger payload first. Bayou follows the backend; if this fails, npm changed."""
    small = float_from_bits(0xFFF8_0000_0000_0000)
    large = float_from_bits(0xFFF8_0000_0000_0001)
    assert sort_key.compare(large, small) == -1
    answer = npm_values.call("compare", values=[to_json(large), to_json(small)])
    assert answer["matrix"] == [[0, 1], [-1, 0]]


def test_npm_validator_json_round_trips_through_validator(npm_values):
    answer = npm_values.call("validators")
    assert len(answer["json"]) >= 12
    for official in answer["json"]:
        parsed = Validator.from_json(official)
        assert parsed.to_json() == official
        assert list(orjson.dumps(parsed.to_json())) == list(orjson.dumps(official))
    typed, untyped = answer["args"]
    validator = args_validator_from_json(typed)
    assert validator is not None and validator.field_names == ("a", "b")
    assert args_validator_from_json(untyped) is None
