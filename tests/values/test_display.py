"""Tests of bayou.values.display: values printed the way Convex's messages print them."""

from __future__ import annotations

import math

import pytest

from bayou.values import UNDEFINED, Int64
from bayou.values.display import format_float, format_json_number, format_value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (Int64(-5), "-5"),
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (1e16, "1e16"),
        (1e-5, "1e-5"),
        (1.5e-7, "1.5e-7"),
        (1e15, "1000000000000000.0"),
        (math.nan, "NaN"),
        (-math.inf, "-inf"),
        ('a"b\\\n\t\x00\x01é', '"a\\"b\\\\\\n\\t\\0\\u{1}é"'),
        (b"hi", 'b"aGk="'),
        ([1.0, "x"], '[1.0, "x"]'),
        ({"b": None, "a": [Int64(1)]}, "{a: [1], b: null}"),
        (UNDEFINED, "undefined"),
    ],
)
def test_format_value_matches_convex_notation(value, text):
    assert format_value(value) == text


@pytest.mark.parametrize(
    ("f", "text"),
    [
        (1.0, "1.0"),
        (0.1, "0.1"),
        (100.0, "100.0"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e16"),
        (1.25e17, "1.25e17"),
        (0.0001, "0.0001"),
        (0.00001, "0.00001"),
        (0.000001, "1e-6"),
        (-2.5e-9, "-2.5e-9"),
        (5e-324, "5e-324"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (math.inf, "<number>"),
    ],
)
def test_json_numbers_print_like_serde_json(f, text):
    assert format_json_number(f) == text


def test_format_float_round_trips():
    for f in (0.1, 1 / 3, 2.0**60, 1.7976931348623157e308, 5e-324, 123456.789):
        assert float(format_float(f)) == f
        assert float(format_json_number(f)) == f
