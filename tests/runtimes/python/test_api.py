"""The user-facing API without a worker: exports, validators, decorators, schema, crons,
routes, references and value conversion."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

import bayou
from bayou import (
    ConvexError,
    Crons,
    HttpRouter,
    Int64,
    Response,
    api,
    define_schema,
    define_table,
    http_action,
    internal,
    mutation,
    query,
    v,
)
from bayou.runtimes.python.api.values import to_convex
from bayou.values import UNDEFINED
from bayou.values.validators import Validator as CoreValidator

# The names PYTHON_API.md makes the contract, and what Bayou adds (documented in
# bayou/__init__.py): HTTP request/response types and the ctx types for type checkers.
PYTHON_API_NAMES = {
    "query",
    "mutation",
    "action",
    "internal_query",
    "internal_mutation",
    "internal_action",
    "http_action",
    "HttpRouter",
    "define_schema",
    "define_table",
    "v",
    "ConvexError",
    "Int64",
    "api",
    "internal",
    "Crons",
}
BAYOU_ADDITIONS = {
    "Request",
    "Response",
    "QueryCtx",
    "MutationCtx",
    "ActionCtx",
    "AsyncQueryCtx",
    "AsyncMutationCtx",
    "AsyncActionCtx",
    "UserIdentity",
    "components",  # functions of installed components (docs/python/components.md)
}


def test_all_is_sorted_and_is_the_contract_plus_documented_additions() -> None:
    assert bayou.__all__ == sorted(bayou.__all__)
    assert set(bayou.__all__) == PYTHON_API_NAMES | BAYOU_ADDITIONS
    for name in BAYOU_ADDITIONS:
        assert name in (bayou.__doc__ or "")
    for name in bayou.__all__:
        assert getattr(bayou, name) is not None


def test_public_names_have_docstrings() -> None:
    for name in bayou.__all__:
        assert getattr(bayou, name).__doc__, name
    for method in ("string", "object", "optional", "union", "record", "literal", "id"):
        assert getattr(v, method).__doc__, method


def test_convex_error_and_int64_are_the_core_types() -> None:
    from bayou import errors, values

    assert ConvexError is errors.ConvexError
    assert Int64 is values.Int64


# --------------------------------------------------------------------------- validators


def test_validators_export_the_npm_json_and_parse_in_the_core() -> None:
    validator = v.object(
        {
            "id": v.id("users"),
            "n": v.float64(),
            "big": v.int64(),
            "tags": v.array(v.string()),
            "kind": v.union(v.literal("a"), v.literal(2), v.literal(Int64(3)), v.literal(True)),
            "extra": v.optional(v.record(v.string(), v.any())),
            "blob": v.nullable(v.bytes()),
        }
    )
    assert validator.json == {
        "type": "object",
        "value": {
            "id": {"fieldType": {"type": "id", "tableName": "users"}, "optional": False},
            "n": {"fieldType": {"type": "number"}, "optional": False},
            "big": {"fieldType": {"type": "bigint"}, "optional": False},
            "tags": {
                "fieldType": {"type": "array", "value": {"type": "string"}},
                "optional": False,
            },
            "kind": {
                "fieldType": {
                    "type": "union",
                    "value": [
                        {"type": "literal", "value": "a"},
                        {"type": "literal", "value": 2.0},
                        {"type": "literal", "value": {"$integer": "AwAAAAAAAAA="}},
                        {"type": "literal", "value": True},
                    ],
                },
                "optional": False,
            },
            "extra": {
                "fieldType": {
                    "type": "record",
                    "keys": {"type": "string"},
                    "values": {"fieldType": {"type": "any"}, "optional": False},
                },
                "optional": True,
            },
            "blob": {
                "fieldType": {"type": "union", "value": [{"type": "bytes"}, {"type": "null"}]},
                "optional": False,
            },
        },
    }
    parsed = CoreValidator.from_json(validator.json)
    assert parsed.to_json() == validator.json


def test_validator_mistakes_name_the_fix() -> None:
    with pytest.raises(TypeError, match=r"the field 'name' must be a validator.*v\.string\(\)"):
        v.object({"name": str})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="cannot be optional"):
        v.array(v.optional(v.string()))
    with pytest.raises(TypeError, match=r"v\.literal"):
        v.literal([1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Int64"):
        v.literal(2**60)
    with pytest.raises(TypeError, match="requires a string"):
        v.id(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        v.string("extra")  # type: ignore[call-arg]


# --------------------------------------------------------------------------- decorators


def test_decorated_functions_export_args_and_returns_like_the_npm_package() -> None:
    @query(args={"a": v.float64(), "b": v.optional(v.string())}, returns=v.float64())
    def add(ctx: Any, a: float, b: str | None = None) -> float:
        return a

    @mutation
    def anything(ctx: Any, **kwargs: Any) -> None:
        return None

    assert add.udf_type == "Query" and add.visibility == "public"
    assert add.export_args() == (
        '{"type":"object","value":{"a":{"fieldType":{"type":"number"},"optional":false},'
        '"b":{"fieldType":{"type":"string"},"optional":true}}}'
    )
    assert add.export_returns() == '{"type":"number"}'
    assert anything.export_args() == '{"type":"any"}'
    assert anything.export_returns() == "null"
    assert add(None, 2.0) == 2.0  # still callable, for unit tests


def test_a_handler_that_does_not_match_its_args_fails_at_import_with_the_fix() -> None:
    with pytest.raises(TypeError, match=r"args declares `body` but the handler has no parameter"):

        @mutation(args={"body": v.string()})
        def send(ctx: Any, text: str) -> None: ...

    with pytest.raises(TypeError, match=r"`likes` is optional.*likes=None"):

        @mutation(args={"likes": v.optional(v.float64())})
        def like(ctx: Any, likes: float) -> None: ...

    with pytest.raises(TypeError, match="first parameter"):

        @query(args={})
        def no_ctx() -> None: ...

    with pytest.raises(TypeError, match="positional-only"):

        @query(args={"a": v.string()})
        def positional(ctx: Any, a: str, /) -> None: ...

    with pytest.raises(TypeError, match=r"args= must be a dict of validators"):
        query(args=v.string())(lambda ctx: None)

    with pytest.raises(ValueError, match="not a valid function name"):
        query(name="not-valid")(lambda ctx: None)


def test_function_references_name_paths() -> None:
    assert api.messages.send.function_path == "messages:send"
    assert internal.admin.users.get.function_path == "admin/users:get"
    assert repr(api.admin.users.get) == "api.admin.users.get"
    with pytest.raises(ValueError, match="name a module and a function"):
        _ = api.messages.function_path


# --------------------------------------------------------------------------- schema


def test_schema_exports_define_schema_json() -> None:
    schema = define_schema(
        {
            "messages": define_table({"body": v.string(), "channel": v.id("channels")})
            .index("by_channel", ["channel"])
            .index("by_body_staged", ["body"], staged=True)
            .search_index("search_body", search_field="body", filter_fields=["channel"])
            .vector_index("by_embedding", vector_field="embedding", dimensions=3),
        },
        schema_validation=False,
    )
    exported = orjson.loads(schema.export())
    (table,) = exported["tables"]
    assert exported["schemaValidation"] is False
    assert table["tableName"] == "messages"
    assert table["indexes"] == [{"indexDescriptor": "by_channel", "fields": ["channel"]}]
    assert table["stagedDbIndexes"] == [{"indexDescriptor": "by_body_staged", "fields": ["body"]}]
    assert table["searchIndexes"] == [
        {"indexDescriptor": "search_body", "searchField": "body", "filterFields": ["channel"]}
    ]
    assert table["vectorIndexes"] == [
        {
            "indexDescriptor": "by_embedding",
            "vectorField": "embedding",
            "dimensions": 3,
            "filterFields": [],
        }
    ]
    assert table["documentType"]["type"] == "object"


def test_schema_mistakes_are_explained() -> None:
    with pytest.raises(TypeError, match="define_table"):
        define_schema({"messages": {"body": v.string()}})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="reserved"):
        define_schema({"_messages": define_table({})})
    with pytest.raises(TypeError, match="union"):
        define_table(v.string())
    with pytest.raises(ValueError, match="Duplicate index"):
        define_table({}).index("a", ["x"]).index("a", ["y"])


# --------------------------------------------------------------------------- crons, routes


def test_crons_export_cron_jobs_json_with_timezones_only_when_given() -> None:
    crons = Crons()
    crons.interval("every minute", api.jobs.tick, {"n": 1}, minutes=1)
    crons.hourly("hourly", "jobs:tick", minute_utc=5)
    crons.weekly("weekly", internal.jobs.tick, day_of_week="monday", hour_utc=8)
    crons.monthly("monthly", internal.jobs.tick, day=1, hour_utc=0, minute_utc=0)
    crons.cron("utc", "*/5 * * * *", internal.jobs.tick)
    crons.cron("paris", "0 8 * * *", internal.jobs.tick, timezone="Europe/Paris")
    exported = orjson.loads(crons.export())
    assert exported["every minute"] == {
        "name": "jobs:tick",
        "args": [{"n": 1}],
        "schedule": {"minutes": 1, "type": "interval"},
    }
    assert exported["hourly"]["schedule"] == {"minuteUTC": 5, "type": "hourly"}
    assert exported["weekly"]["schedule"] == {
        "dayOfWeek": "monday",
        "hourUTC": 8,
        "type": "weekly",
    }
    assert exported["utc"]["schedule"] == {"cron": "*/5 * * * *", "type": "cron"}
    assert exported["paris"]["schedule"]["timezone"] == "Europe/Paris"
    with pytest.raises(ValueError, match="registered twice"):
        crons.hourly("hourly", "jobs:tick")
    with pytest.raises(ValueError, match="Unknown time zone"):
        crons.cron("bad tz", "0 8 * * *", "jobs:tick", timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="one of seconds, minutes, or hours"):
        crons.interval("both", "jobs:tick", seconds=1, minutes=1)


def test_router_lists_and_looks_up_routes_like_convex() -> None:
    @http_action
    def handler(ctx: Any, request: Any) -> Response:
        return Response("ok")

    router = HttpRouter()
    router.route(path="/b", method="POST", handler=handler)
    router.route(path="/a", method="GET", handler=handler)
    router.route(path_prefix="/files/", method="GET", handler=handler)
    router.route(path_prefix="/files/deep/", method="GET", handler=handler)
    assert [(p, m) for p, m, _ in router.get_routes()] == [
        ("/a", "GET"),
        ("/b", "POST"),
        ("/files/*", "GET"),
        ("/files/deep/*", "GET"),
    ]
    assert router.lookup("/files/deep/x", "HEAD") == (handler, "GET", "/files/deep/*")
    assert router.lookup("/nothing", "GET") is None
    with pytest.raises(ValueError, match="already in use"):
        router.route(path="/a", method="GET", handler=handler)
    with pytest.raises(ValueError, match="must end with a /"):
        router.route(path_prefix="/x", method="GET", handler=handler)
    with pytest.raises(TypeError, match="@http_action"):
        router.route(path="/c", method="GET", handler=lambda ctx, r: None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- values


def test_python_values_become_convex_values() -> None:
    assert to_convex({"a": 1, "b": (1, 2), "c": bytearray(b"x"), "d": Int64(5)}, "here") == {
        "a": 1.0,
        "b": [1.0, 2.0],
        "c": b"x",
        "d": Int64(5),
    }
    assert to_convex({"gone": UNDEFINED}, "patch", undefined=True) == {"gone": UNDEFINED}


@pytest.mark.parametrize(
    ("value", "error", "fix"),
    [
        ({"tags": {"a"}}, TypeError, r"`\.tags` is a set.*Use a list"),
        ({"at": __import__("datetime").datetime(2024, 1, 1)}, TypeError, r"timestamp"),
        ({"n": [2**60]}, ValueError, r"`\.n\[0\]`.*Int64\(1152921504606846976\)"),
        ({1: "x"}, TypeError, r"string keys"),
        ({"x": UNDEFINED}, TypeError, r"only allowed"),
    ],
)
def test_values_convex_cannot_store_are_rejected_with_the_fix(
    value: Any, error: type[Exception], fix: str
) -> None:
    with pytest.raises(error, match=fix) as info:
        to_convex(value, 'ctx.db.insert("t", …)')
    assert str(info.value).startswith('ctx.db.insert("t", …)')
