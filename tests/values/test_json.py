"""Tests of bayou.values.json: the Convex-encoded, clean and export JSON formats."""

from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import given

from bayou.errors import BadRequest
from bayou.values import COMMIT_TS, UNDEFINED, Int64
from bayou.values import json as vjson
from bayou.values.sort_key import encode as sort_key
from tests.values.strategies import CANONICAL_NAN, convex_values, float_bits, float_from_bits


def same(a, b) -> bool:
    """Identical Convex values (exact float bits, exact types)."""
    return sort_key(a) == sort_key(b)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (Int64(1), {"$integer": "AQAAAAAAAAA="}),
        (Int64(-1), {"$integer": "//////////8="}),
        (Int64(42), {"$integer": "KgAAAAAAAAA="}),
        (math.nan, {"$float": "AAAAAAAA+H8="}),
        (math.inf, {"$float": "AAAAAAAA8H8="}),
        (-math.inf, {"$float": "AAAAAAAA8P8="}),
        (-0.0, {"$float": "AAAAAAAAAIA="}),
        (b"hello", {"$bytes": "aGVsbG8="}),
        (5.0, 5.0),
        (None, None),
        ("s", "s"),
        (True, True),
    ],
)
def test_to_json_matches_reference_encodings(value, encoded):
    assert vjson.to_json(value) == encoded
    assert same(vjson.from_json(encoded), value)


def test_to_json_writes_object_keys_sorted():
    encoded = vjson.to_json({"b": 1.0, "a": {"z": None, "_": None, "A": None}})
    assert list(encoded) == ["a", "b"]
    assert list(encoded["a"]) == ["A", "_", "z"]
    assert vjson.dumps({"b": 1.0, "a": 2.0}) == b'{"a":2.0,"b":1.0}'


def test_python_ints_are_written_as_json_integers_and_read_back_as_floats():
    # The Python runtime's ints: integral float64s that other Python code reads as ints.
    assert vjson.dumps({"n": [3, 2.0]}) == b'{"n":[3,2.0]}'
    assert vjson.loads(b'{"n":[3,2.0]}') == {"n": [3.0, 2.0]}
    got = vjson.loads(b'{"n":[3,2.0]}', ints=True)
    assert got == {"n": [3, 2.0]} and [type(x) for x in got["n"]] == [int, float]


def test_to_json_rejects_python_ints_beyond_float64_with_a_hint():
    with pytest.raises(BadRequest, match="Int64"):
        vjson.to_json({"n": 2**60})
    with pytest.raises(BadRequest, match="Int64"):
        vjson.dumps({"n": [2**60]})


def test_dumps_rejects_non_values_with_bad_request():
    with pytest.raises(BadRequest, match="not a Convex value"):
        vjson.dumps({"s": {1, 2}})
    with pytest.raises(BadRequest, match="not a Convex value"):
        vjson.dumps([(1.0,)])


def test_sentinels_have_their_encodings():
    assert vjson.to_json(UNDEFINED) == {"$undefined": None}
    assert vjson.to_json(COMMIT_TS) == {"$commitTs": None}


def test_every_json_number_decodes_as_float():
    decoded = vjson.from_json({"a": 5, "b": [1, 2.5, -0], "c": 18446744073709551615})
    assert decoded == {"a": 5.0, "b": [1.0, 2.5, 0.0], "c": 1.8446744073709552e19}
    assert type(decoded["a"]) is float
    assert all(type(x) is float for x in decoded["b"])
    assert type(vjson.from_json(7)) is float
    assert type(vjson.loads(b"7")) is float


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ({"$integer": "AQAAAAAAAA=="}, "eight bytes"),
        ({"$integer": "AQAAAAAAAAAA"}, "eight bytes"),
        ({"$integer": 5}, "Malformed"),
        ({"$integer": "not base64!"}, "base64"),
        ({"$float": "AAAAAAAA8D8="}, "should be encoded as a number"),
        ({"$float": "AAAA"}, "eight bytes"),
        ({"$bytes": None}, "Malformed"),
        ({"$bytes": "a*=="}, "base64"),
        ({"$set": []}, "no longer supported"),
        ({"$map": []}, "no longer supported"),
        ({"$undefined": None}, "undefined"),
        ({"$commitTs": None}, "reserved"),
    ],
)
def test_from_json_rejects_malformed_special_objects(encoded, message):
    with pytest.raises(BadRequest, match=message):
        vjson.from_json(encoded)


def test_from_json_decodes_subnormal_and_denormal_floats_as_numbers():
    assert vjson.from_json(5e-324) == 5e-324
    with pytest.raises(BadRequest):
        vjson.from_json({"$float": vjson.encode_float_bits(5e-324)})


def test_from_json_accepts_base64_without_padding():
    assert vjson.from_json({"$bytes": "aGVsbG8"}) == b"hello"


@pytest.mark.parametrize("key", ["$foo", "$", "$integer2"])
def test_unknown_dollar_keys_are_reserved_field_names(key):
    with pytest.raises(BadRequest, match="reserved") as info:
        vjson.from_json({key: 1})
    assert info.value.code == "InvalidFieldName"


def test_dollar_special_key_among_other_keys_is_a_field_name_error():
    with pytest.raises(BadRequest, match="reserved"):
        vjson.from_json({"$integer": "AQAAAAAAAAA=", "a": 1})


@pytest.mark.parametrize("name", ["a\x00", "tab\there", "é", "\x7f", "x" * 1025])
def test_invalid_field_names_are_rejected(name):
    with pytest.raises(BadRequest) as info:
        vjson.from_json({"ok": {name: 1}})
    assert info.value.code == "InvalidFieldName"


@pytest.mark.parametrize("name", ["", " ", "~", "_id", "a.b", "x" * 1024, "$"[1:] + "a$"])
def test_valid_field_names_are_accepted(name):
    assert vjson.from_json({name: 1}) == {name: 1.0}


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_of_64_levels_is_accepted_and_65_rejected():
    assert vjson.from_json(_nested(64)) is not None
    with pytest.raises(BadRequest, match="too nested") as info:
        vjson.from_json(_nested(65))
    assert info.value.code == "TooNestedError"


def test_deep_input_is_an_error_not_a_recursion_error():
    with pytest.raises(BadRequest):
        vjson.from_json(_nested(5000))
    with pytest.raises(BadRequest):
        vjson.loads(b"[" * 5000 + b"]" * 5000)


def test_array_and_object_limits_have_convex_codes():
    assert len(vjson.from_json([1] * 8192)) == 8192
    with pytest.raises(BadRequest) as info:
        vjson.from_json([1] * 8193)
    assert info.value.code == "ArrayTooLong"
    with pytest.raises(BadRequest) as info:
        vjson.from_json({f"f{i}": 1 for i in range(1025)})
    assert info.value.code == "TooManyFieldsError"


def test_undefined_is_accepted_only_where_js_writes_it():
    assert vjson.from_json({"$undefined": None}, undefined=True) is UNDEFINED
    assert vjson.from_json({"a": {"$undefined": None}}, undefined=True) == {"a": UNDEFINED}
    with pytest.raises(BadRequest):
        vjson.from_json({"a": {"b": {"$undefined": None}}}, undefined=True)
    with pytest.raises(BadRequest):
        vjson.from_json([{"$undefined": None}], undefined=True)


def test_commit_ts_placeholder_needs_the_flag():
    assert vjson.from_json({"t": {"$commitTs": None}}, commit_ts=True) == {"t": COMMIT_TS}
    with pytest.raises(BadRequest, match="must be null"):
        vjson.from_json({"$commitTs": 1}, commit_ts=True)


def test_loads_reports_invalid_json():
    with pytest.raises(BadRequest) as info:
        vjson.loads(b"{nope")
    assert info.value.code == "InvalidJson"
    with pytest.raises(BadRequest):
        vjson.loads(b"[NaN]")


def test_loads_rejects_values_over_32_mib():
    text = b'"' + b"a" * (1 << 25) + b'"'
    with pytest.raises(BadRequest) as info:
        vjson.loads(text)
    assert info.value.code == "ValueTooLargeError"


@given(convex_values)
def test_from_json_inverts_to_json(value):
    assert same(vjson.from_json(vjson.to_json(value)), value)


@given(convex_values)
def test_loads_inverts_dumps(value):
    assert same(vjson.loads(vjson.dumps(value)), value)


@given(convex_values)
def test_dumps_fast_path_writes_the_same_bytes_as_to_json(value):
    assert vjson.dumps(value) == orjson.dumps(vjson.to_json(value))


def test_clean_json_format():
    value = {
        "i": Int64(-42),
        "nan": math.nan,
        "inf": math.inf,
        "ninf": -math.inf,
        "nz": -0.0,
        "b": b"\x00\x01",
        "l": [1.5, None, True],
    }
    assert vjson.to_clean_json(value) == {
        "b": "AAE=",
        "i": "-42",
        "inf": "Infinity",
        "l": [1.5, None, True],
        "nan": "NaN",
        "ninf": "-Infinity",
        "nz": -0.0,
    }


def test_export_json_text_keeps_floats_and_ints_apart():
    value = {"f": 1.0, "i": Int64(1), "big": 1e20, "nz": -0.0, "nan": math.nan, "b": b"hi"}
    text = vjson.dumps_export(value)
    assert text == (
        b'{"b":{"$bytes":"aGk="},"big":1e+20,"f":1.0,"i":1,"nan":{"$float":"AAAAAAAA+H8="},'
        b'"nz":-0.0}'
    )


def test_from_export_json_reads_integers_as_int64():
    decoded = vjson.from_export_json(
        orjson.loads(b'{"a":1,"b":1.0,"c":[2,{"$integer":"AQAAAAAAAAA="}]}')
    )
    assert decoded == {"a": Int64(1), "b": 1.0, "c": [Int64(2), Int64(1)]}
    assert type(decoded["b"]) is float
    assert vjson.from_export_json(2**63) == float(2**63)


@given(convex_values)
def test_export_format_round_trips(value):
    assert same(vjson.from_export_json(orjson.loads(vjson.dumps_export(value))), value)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("convex_encoded_json", {"$integer": "AQAAAAAAAAA="}),
        ("convex_json", {"$integer": "AQAAAAAAAAA="}),
        ("json", "1"),
        ("convex_clean_json", "1"),
        ("export_json", 1),
    ],
)
def test_encode_for_format_knows_convex_format_names(fmt, expected):
    assert vjson.encode_for_format(Int64(1), fmt) == expected


def test_encode_for_format_rejects_unknown_names():
    with pytest.raises(BadRequest) as info:
        vjson.encode_for_format(1.0, "xml")
    assert info.value.code == "BadFormat"


def test_nan_payload_and_sign_survive_the_wire():
    bits = 0xFFF0_0000_0000_0001
    assert float_bits(vjson.loads(vjson.dumps(float_from_bits(bits)))) == bits
    assert float_bits(vjson.loads(vjson.dumps(CANONICAL_NAN))) == 0x7FF8_0000_0000_0000
