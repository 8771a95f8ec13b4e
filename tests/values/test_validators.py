"""Tests of bayou.values.validators: validator JSON and Convex's checks and messages."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given

from bayou.errors import BadRequest, ValidationError
from bayou.values import COMMIT_TS, UNDEFINED, Int64
from bayou.values import validators as va
from bayou.values.json import to_json
from bayou.values.validators import Validator
from tests.values.strategies import NEGATIVE_NAN, convex_values

TABLES = {"u1": "users", "m1": "messages", "s1": "_storage"}


def id_table(id_string: str) -> str | None:
    return TABLES.get(id_string)


def V(obj) -> Validator:
    return Validator.from_json(obj)


def field(validator: dict, optional: bool = False) -> dict:
    return {"fieldType": validator, "optional": optional}


def obj(**fields) -> dict:
    return {"type": "object", "value": fields}


S = {"type": "string"}
N = {"type": "number"}


def fail(validator: Validator, value) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validator.check(value, id_table=id_table)
    assert not validator.matches(value, id_table=id_table)
    return info.value


def test_validator_json_round_trips_including_field_order():
    # Output of the npm `v` builders (convex 1.x), field order as declared.
    official = obj(
        name=field(S),
        age=field(N, optional=True),
        count=field({"type": "bigint"}),
        owner=field({"type": "id", "tableName": "users"}),
        tags=field({"type": "array", "value": S}),
        byId=field(
            {
                "type": "record",
                "keys": {"type": "id", "tableName": "users"},
                "values": field(N),
            }
        ),
        kind=field(
            {
                "type": "union",
                "value": [{"type": "literal", "value": "a"}, {"type": "literal", "value": 1.5}],
            }
        ),
        big=field({"type": "literal", "value": {"$integer": "BQAAAAAAAAA="}}),
        nan=field({"type": "literal", "value": {"$float": "AAAAAAAA+H8="}}),
        ts=field({"type": "commitTs"}),
        rest=field({"type": "any"}),
        nothing=field({"type": "null"}),
        flag=field({"type": "boolean"}),
        data=field({"type": "bytes"}),
        inner=field(obj(), optional=True),
    )
    parsed = V(official)
    assert parsed.to_json() == official
    assert list(parsed.to_json()["value"]) == list(official["value"])
    assert V(parsed.to_json()) == parsed


@given(convex_values)
def test_exact_validator_accepts_its_value_and_round_trips(value):
    validator = V(exact_validator_json(value))
    validator.check(value, id_table=id_table)
    assert V(validator.to_json()) == validator


def exact_validator_json(value) -> dict:
    """A validator that accepts `value` (literals where Convex allows them)."""
    if type(value) in (str, bool, float, Int64):
        return {"type": "literal", "value": to_json(value)}
    if value is None:
        return {"type": "null"}
    if type(value) is bytes:
        return {"type": "bytes"}
    if type(value) is list:
        members = [exact_validator_json(v) for v in value]
        return {"type": "array", "value": {"type": "union", "value": members}}
    if all(k.isidentifier() and k.isascii() and k.strip("_") for k in value):
        return obj(**{k: field(exact_validator_json(v)) for k, v in value.items()})
    return {"type": "record", "keys": S, "values": field({"type": "any"})}


@pytest.mark.parametrize(
    ("validator", "good", "bad"),
    [
        ({"type": "null"}, None, False),
        ({"type": "number"}, 1.0, Int64(1)),
        ({"type": "bigint"}, Int64(1), 1.0),
        ({"type": "boolean"}, True, None),
        ({"type": "string"}, "", b""),
        ({"type": "bytes"}, b"", ""),
        ({"type": "id", "tableName": "users"}, "u1", "m1"),
        ({"type": "array", "value": N}, [1.0, 2.0], [1.0, "2"]),
        ({"type": "literal", "value": 1.0}, 1.0, Int64(1)),
        ({"type": "literal", "value": {"$float": "AAAAAAAAAIA="}}, -0.0, 0.0),
        ({"type": "literal", "value": {"$integer": "AQAAAAAAAAA="}}, Int64(1), 1.0),
        ({"type": "literal", "value": True}, True, 1.0),
        ({"type": "literal", "value": "x"}, "x", "X"),
        ({"type": "commitTs"}, COMMIT_TS, 1.0),
        ({"type": "union", "value": [S, N]}, 2.0, None),
    ],
)
def test_validators_accept_their_type_only(validator, good, bad):
    V(validator).check(good, id_table=id_table)
    fail(V(validator), bad)


def test_int64_and_commit_ts_validators_accept_the_placeholder_and_ints():
    V({"type": "bigint"}).check(COMMIT_TS, id_table=id_table)
    V({"type": "commitTs"}).check(Int64(5), id_table=id_table)
    V({"type": "literal", "value": to_json(Int64(2**63 - 1))}).check(COMMIT_TS, id_table=id_table)


def test_nan_literal_matches_the_same_nan():
    validator = V({"type": "literal", "value": {"$float": "AAAAAAAA+H8="}})
    validator.check(math.nan, id_table=id_table)
    fail(validator, NEGATIVE_NAN)


def test_any_accepts_everything():
    for value in (None, [UNDEFINED], {"a": b""}, Int64(0)):
        V({"type": "any"}).check(value, id_table=id_table)


def test_no_match_message_has_convex_layout():
    error = fail(V(obj(a=field(S))), {"a": 1.0})
    assert error.message == (
        "Value does not match validator.\nPath: .a\nValue: 1.0\nValidator: v.string()"
    )
    assert error.path == ".a"
    assert error.code == "ValidationError"


def test_top_level_no_match_has_an_empty_path_line():
    error = fail(V(S), Int64(3))
    assert error.message == "Value does not match validator.\n\nValue: 3\nValidator: v.string()"
    assert error.path == ""


def test_missing_field_message():
    error = fail(V(obj(x=field(S), y=field(N, optional=True))), {"y": 1.0})
    assert error.message == (
        "Object is missing the required field `x`. Consider wrapping the field validator in "
        "`v.optional(...)` if this is expected.\n\nObject: {y: 1.0}\n"
        "Validator: v.object({x: v.string(), y: v.optional(v.float64())})"
    )


def test_extra_field_message_names_the_first_extra_field():
    error = fail(V(obj(a=field(S))), {"a": "x", "z": None, "y": True})
    assert error.message == (
        "Object contains extra field `y` that is not in the validator.\n\n"
        'Object: {a: "x", y: true, z: null}\nValidator: v.object({a: v.string()})'
    )


def test_undefined_fields_count_as_missing():
    validator = V(obj(a=field(S, optional=True)))
    validator.check({"a": UNDEFINED}, id_table=id_table)
    validator.check({"b": UNDEFINED}, id_table=id_table)
    fail(V(obj(a=field(S))), {"a": UNDEFINED})


def test_literal_message():
    error = fail(V(obj(k=field({"type": "literal", "value": "a"}))), {"k": "b"})
    assert error.message == '`"b"` does not match literal validator `v.literal("a")`.Path: .k'


def test_id_messages_name_the_tables():
    validator = V({"type": "array", "value": {"type": "id", "tableName": "users"}})
    error = fail(validator, ["u1", "m1"])
    assert error.message == (
        'Found ID "m1" from table `messages`, which does not match the table name in '
        'validator `v.id("users")`.Path: [1]'
    )
    error = fail(validator, ["s1"])
    assert error.message == (
        'Found ID "s1" from a system table, which does not match the table name in validator '
        '`v.id("users")`.Path: [0]'
    )
    error = fail(validator, ["not-an-id"])
    assert error.message.startswith("Value does not match validator.\nPath: [0]")


def test_record_paths_say_keys_or_values():
    record = V({"type": "record", "keys": {"type": "id", "tableName": "users"}, "values": field(N)})
    record.check({"u1": 1.0}, id_table=id_table)
    assert fail(record, {"m1": 1.0}).path == ".keys()"
    assert fail(record, {"u1": "x"}).path == ".values()"
    assert fail(V(obj(r=field(record.to_json()))), {"r": {"u1": None}}).path == ".r.values()"


def test_single_member_union_reports_the_member_error():
    error = fail(V({"type": "union", "value": [obj(a=field(S))]}), {"a": 1.0})
    assert error.path == ".a"


def test_empty_union_matches_nothing():
    error = fail(V({"type": "union", "value": []}), None)
    assert "Validator: v.union()" in error.message


def test_union_failure_shows_the_union():
    error = fail(V({"type": "union", "value": [S, {"type": "null"}]}), 1.0)
    assert error.message.endswith("Validator: v.union(v.string(), v.null())")


@pytest.mark.parametrize(
    ("validator", "text"),
    [
        ({"type": "number"}, "v.float64()"),
        ({"type": "bigint"}, "v.int64()"),
        ({"type": "commitTs"}, "v.commitTs()"),
        ({"type": "literal", "value": 1.0}, "v.literal(1.0)"),
        ({"type": "literal", "value": 1e-5}, "v.literal(0.00001)"),
        ({"type": "literal", "value": {"$integer": "AQAAAAAAAAA="}}, "v.literal(<bigint>)"),
        ({"type": "literal", "value": {"$float": "AAAAAAAA8H8="}}, "v.literal(<number>)"),
        ({"type": "literal", "value": 'q"'}, 'v.literal("q\\"")'),
        ({"type": "literal", "value": False}, "v.literal(false)"),
        (
            {"type": "record", "keys": S, "values": field({"type": "any"})},
            "v.record(v.string(), v.any())",
        ),
        ({"type": "map"}, "v.any()"),
        ({"type": "set"}, "v.any()"),
    ],
)
def test_validators_print_like_convex(validator, text):
    assert str(V(validator)) == text


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("string", "object with a string `type`"),
        ({"kind": "string"}, "object with a string `type`"),
        ({"type": "strng"}, "Unknown validator type"),
        ({"type": "array"}, "missing the field `value`"),
        ({"type": "id"}, "missing the field `tableName`"),
        ({"type": "id", "tableName": "bad-name"}, "Invalid table name"),
        ({"type": "literal", "value": None}, "not a valid literal"),
        ({"type": "literal", "value": [1]}, "not a valid literal"),
        ({"type": "union", "value": S}, "must be a list"),
        (obj(a=S), "fieldType"),
        (obj(a={"fieldType": S}), "boolean `optional`"),
        (obj(**{"a-b": field(S)}), "Invalid field name `a-b`"),
        (obj(**{"$a": field(S)}), "Invalid field name `$a`"),
        (obj(a=field({"type": "nope"})), "Invalid validator for key `a`"),
    ],
)
def test_malformed_validator_json_is_a_clear_bad_request(bad, message):
    with pytest.raises(BadRequest, match=re.escape(message)) as info:
        V(bad)
    assert info.value.code == "InvalidValidator"


@pytest.mark.parametrize(
    ("keys", "values", "message"),
    [
        (N, field(N), "not a subtype of `v.string()`"),
        ({"type": "any"}, field(N), "not a subtype"),
        ({"type": "literal", "value": "a"}, field(N), "string literal keys"),
        ({"type": "union", "value": [S, {"type": "literal", "value": "a"}]}, field(N), "literal"),
        (S, field(N, optional=True), "optional values"),
    ],
)
def test_record_keys_must_be_strings_and_values_required(keys, values, message):
    with pytest.raises(BadRequest, match=re.escape(message)) as info:
        V({"type": "record", "keys": keys, "values": values})
    assert info.value.code == "InvalidRecordType"


def test_args_validator_reads_export_args_text():
    text = '{"type":"object","value":{"a":{"fieldType":{"type":"string"},"optional":false}}}'
    validator = va.args_validator_from_json(text)
    assert validator is not None
    assert validator.field_names == ("a",)
    assert validator.get("a").validator == V(S)
    assert va.args_validator_from_json('{"type":"any"}') is None
    with pytest.raises(BadRequest, match="Args validator must be an object or any"):
        va.args_validator_from_json({"type": "string"})
    with pytest.raises(BadRequest, match="Error in args validator"):
        va.args_validator_from_json({"type": "object", "value": 5})


def test_check_args_uses_argument_validation_error_messages():
    validator = va.args_validator_from_json(obj(a=field(S)))
    va.check_args(validator, [{"a": "x"}], id_table=id_table)
    va.check_args(None, [1.0, 2.0], id_table=id_table)
    with pytest.raises(ValidationError) as info:
        va.check_args(validator, [{"a": 1.0}], id_table=id_table)
    assert info.value.message.startswith("ArgumentValidationError: Value does not match")
    assert info.value.path == ".a"
    with pytest.raises(ValidationError, match=r"single object.*received 2 arguments"):
        va.check_args(validator, [{}, {}], id_table=id_table)
    with pytest.raises(ValidationError, match="an object as the function's argument"):
        va.check_args(validator, ["x"], id_table=id_table)


def test_returns_validator_and_check():
    assert va.returns_validator_from_json("null") is None
    validator = va.returns_validator_from_json({"type": "number"})
    va.check_returns(validator, 1.0, id_table=id_table)
    with pytest.raises(ValidationError, match=r"^ReturnsValidationError: Value does not match"):
        va.check_returns(validator, "x", id_table=id_table)
    with pytest.raises(BadRequest, match="Error in returns validator"):
        va.returns_validator_from_json({"type": "??"})


def test_document_validator_ignores_system_fields():
    validator = va.document_validator_from_json(
        obj(_id=field({"type": "id", "tableName": "users"}), name=field(S))
    )
    assert validator.to_json() == obj(name=field(S))
    document = {"_id": "u1", "_creationTime": 1.0, "name": "ada"}
    validator.check_document(document, id_table=id_table)
    with pytest.raises(ValidationError, match="extra field `age`"):
        validator.check_document({**document, "age": 3.0}, id_table=id_table)


def test_document_validator_accepts_unions_of_objects_and_any():
    union = {"type": "union", "value": [obj(a=field(S)), obj(b=field(N))]}
    validator = va.document_validator_from_json(union)
    validator.check_document({"_id": "u1", "b": 1.0}, id_table=id_table)
    with pytest.raises(ValidationError):
        validator.check_document({"_id": "u1", "c": 1.0}, id_table=id_table)
    va.document_validator_from_json({"type": "any"}).check_document({"x": 1.0}, id_table=id_table)


@pytest.mark.parametrize(
    "bad", [S, {"type": "union", "value": [obj(), S]}, {"type": "array", "value": obj()}]
)
def test_document_validator_must_be_objects(bad):
    with pytest.raises(BadRequest, match="must be an object, a union of objects") as info:
        va.document_validator_from_json(bad)
    assert info.value.code == "InvalidTopLevelTypeInSchemaError"


def test_validators_are_immutable_and_hashable():
    validator = V(obj(a=field(S)))
    with pytest.raises(AttributeError):
        validator.fields = ()  # type: ignore[misc]
    assert {validator: 1}[V(obj(a=field(S)))] == 1
    assert V(S) == V(S)
    assert V(S) != V(N)
