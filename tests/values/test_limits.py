"""Tests of bayou.values.limits: Convex's size metric and its limits on values and documents."""

from __future__ import annotations

import pytest
from hypothesis import given

from bayou.errors import BadRequest
from bayou.values import COMMIT_TS, UNDEFINED, Int64, limits
from bayou.values.ids import encode_id, new_internal_id
from tests.values.strategies import convex_values, documents


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (None, 1),
        (True, 1),
        (Int64(1), 9),
        (1.5, 9),
        ("", 2),
        ("abc", 5),
        ("é", 4),
        ("😀", 6),
        (b"\x00\x01", 4),
        ([], 2),
        ([None, 1.0], 12),
        ({}, 2),
        ({"a": 1.0}, 13),
        ({"ab": [None]}, 2 + 3 + 3),
        ({"gone": UNDEFINED, "a": None}, 2 + 2 + 1),
    ],
)
def test_value_size_follows_convex_metric(value, size):
    assert limits.value_size(value) == size


@given(convex_values)
def test_check_value_returns_the_size(value):
    assert limits.check_value(value) == limits.value_size(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (3, "Python int"),
        ((1.0,), "not a supported"),
        ({"a": UNDEFINED}, "undefined"),
        ({1: "x"}, "Field names must be strings"),
        ({"$a": 1.0}, "reserved"),
        ({"a": ["\ud800"]}, "surrogate"),
        (COMMIT_TS, "commit timestamp"),
    ],
)
def test_check_value_rejects_non_values(value, message):
    with pytest.raises(BadRequest, match=message):
        limits.check_value(value)


def test_check_value_names_the_path_of_the_problem():
    with pytest.raises(BadRequest, match=r"at path \.a\[1\]\.b"):
        limits.check_value({"a": [None, {"b": 5}]})


def test_check_value_allows_commit_ts_when_asked():
    assert limits.check_value({"t": COMMIT_TS}, commit_ts=True) == 2 + 2 + 9


def _nested(depth: int):
    value: object = None
    for _ in range(depth):
        value = [value]
    return value


def test_check_value_limits_nesting_lengths_and_size():
    limits.check_value(_nested(64))
    with pytest.raises(BadRequest) as info:
        limits.check_value(_nested(65))
    assert info.value.code == "TooNestedError"
    with pytest.raises(BadRequest) as info:
        limits.check_value([None] * 8193)
    assert info.value.code == "ArrayTooLong"
    with pytest.raises(BadRequest) as info:
        limits.check_value({f"f{i}": None for i in range(1025)})
    assert info.value.code == "TooManyFieldsError"
    with pytest.raises(BadRequest) as info:
        limits.check_value("x" * 100, max_size=101)
    assert info.value.code == "ValueTooLargeError"
    assert limits.check_value("x" * 99, max_size=101) == 101


def _document(**fields):
    return {
        "_id": encode_id(10001, new_internal_id()),
        "_creationTime": 1745075425708.771,
        **fields,
    }


def test_document_system_fields_count_towards_the_size():
    assert limits.check_document(_document()) == 2 + 4 + 34 + 14 + 9


def test_document_of_exactly_one_mib_is_accepted_and_one_byte_more_rejected():
    base = limits.value_size(_document(data=b""))
    exact = _document(data=b"x" * ((1 << 20) - base))
    assert limits.check_document(exact) == 1 << 20
    with pytest.raises(BadRequest) as info:
        limits.check_document(_document(data=b"x" * ((1 << 20) - base + 1)))
    assert info.value.code == "ValueTooLargeError"
    assert "file storage" in info.value.message
    assert "1 MiB" in info.value.message


def test_document_nesting_is_limited_to_16_levels():
    limits.check_document(_document(deep=_nested(15)))
    with pytest.raises(BadRequest, match="too nested") as info:
        limits.check_document(_document(deep=_nested(16)))
    assert info.value.code == "InvalidDocumentError"


def test_top_level_underscore_fields_are_reserved():
    with pytest.raises(BadRequest, match="_secret") as info:
        limits.check_document(_document(_secret=1.0))
    assert info.value.code == "InvalidDocumentError"
    limits.check_document(_document(nested={"_allowed": 1.0}))


@pytest.mark.parametrize(
    "fields",
    [{"_id": 5.0}, {"_creationTime": Int64(5)}, {"_creationTime": -1.0}, {"_creationTime": None}],
)
def test_system_fields_must_have_their_types(fields):
    with pytest.raises(BadRequest) as info:
        limits.check_document({**_document(), **fields})
    assert info.value.code == "InvalidDocumentError"


def test_documents_must_be_objects():
    with pytest.raises(BadRequest, match="objects"):
        limits.check_document([])  # type: ignore[arg-type]


def test_document_field_names_are_checked_everywhere():
    with pytest.raises(BadRequest) as info:
        limits.check_document(_document(a={"b\n": 1.0}))
    assert info.value.code == "InvalidFieldName"
    assert ".a" in info.value.message


@given(documents)
def test_generated_documents_pass_or_fail_only_on_nesting_or_size(body):
    try:
        limits.check_document(_document(**body))
    except BadRequest as e:
        assert e.code in ("InvalidDocumentError", "ValueTooLargeError")


@pytest.mark.parametrize("name", ["users", "a", "A_1", "x" * 64, "snake_case_9"])
def test_valid_table_names(name):
    limits.check_identifier(name)


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "é", "x" * 65, "a b", "_private", "___"])
def test_invalid_table_names(name):
    with pytest.raises(BadRequest) as info:
        limits.check_identifier(name)
    assert info.value.code == "InvalidTableName"


def test_system_names_need_the_flag():
    limits.check_identifier("_storage", system=True)
    with pytest.raises(BadRequest):
        limits.check_identifier("___", system=True)


def test_index_names_have_their_own_code():
    with pytest.raises(BadRequest) as info:
        limits.check_identifier("by-name", "index name")
    assert info.value.code == "InvalidIndexName"


def test_format_size():
    assert limits.format_size(512) == "512 B"
    assert limits.format_size(1536) == "1.5 KiB"
    assert limits.format_size(1 << 20) == "1 MiB"
    assert limits.format_size(int(1.2 * (1 << 20))) == "1.2 MiB"
