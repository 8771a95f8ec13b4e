"""The bodies of the deploy protocol's requests, checked before anything reads them.

Each `/api/deploy2/*` (and `/api/get_config_hashes`) body is a JSON object whose fields have
the types the official CLI sends (js-compat.md §1). `check(endpoint, body)` raises
`BadRequest` (400, `BadJsonBody`, as Convex answers a body that does not deserialize)
naming the first field of the wrong type — `schemaChange must be an object, got 5` — so
the pipeline only ever sees the shapes it expects. Unknown fields are allowed (newer CLIs
add some) and `null` counts as absent for optional fields; fields that Bayou ignores are
checked only as far as the CLI's own types go.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from bayou.errors import BadRequest

Check = Callable[[Any, str], None]


class _Invalid(Exception):
    def __init__(self, where: str, expected: str, value: Any) -> None:
        super().__init__(f"{where} must be {expected}, got {_show(value)}")


class _Missing(_Invalid):
    def __init__(self, where: str) -> None:
        Exception.__init__(self, f"{where} is missing")


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(expected: str, test: Callable[[Any], bool]) -> Check:
    def check(value: Any, where: str) -> None:
        if not test(value):
            raise _Invalid(where, expected, value)

    return check


string = _kind("a string", lambda v: isinstance(v, str))
boolean = _kind("true or false", lambda v: isinstance(v, bool))
count = _kind(
    "a number of at least 0",
    lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v >= 0,
)


def anything(value: Any, where: str) -> None:
    """Any JSON value (a field Bayou does not read)."""


def array(item: Check = anything) -> Check:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, list):
            raise _Invalid(where, "an array", value)
        for i, element in enumerate(value):
            item(element, f"{where}[{i}]")

    return check


def mapping(item: Check = anything) -> Check:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise _Invalid(where, "an object", value)
        for key, element in value.items():
            item(element, f"{where}[{orjson.dumps(key).decode()}]")

    return check


def obj(required: Mapping[str, Check], optional: Mapping[str, Check] | None = None) -> Check:
    """An object with `required` fields and `optional` ones (absent or null)."""

    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise _Invalid(where or "the body", "an object", value)
        prefix = f"{where}." if where else ""
        for name, field_check in required.items():
            if value.get(name) is None:
                raise _Missing(prefix + name)
            field_check(value[name], prefix + name)
        for name, field_check in (optional or {}).items():
            if value.get(name) is not None:
                field_check(value[name], prefix + name)

    return check


def nullable(inner: Check) -> Check:
    def check(value: Any, where: str) -> None:
        if value is not None:
            inner(value, where)

    return check


_ADMIN_KEY = {"adminKey": string}

MODULE = obj(
    {"path": string, "source": string},
    {"sourceMap": string, "environment": string},
)
MODULE_HASH = obj({"path": string, "sha256": string}, {"environment": string})
APP_DEFINITION = obj(
    {},
    {
        "definition": MODULE,
        "dependencies": array(string),
        "schema": MODULE,
        "changedModules": array(MODULE),
        "unchangedModuleHashes": array(MODULE_HASH),
        "udfServerVersion": string,
    },
)
START_PUSH = obj(
    {"appDefinition": APP_DEFINITION},
    {
        **_ADMIN_KEY,
        "dryRun": boolean,
        "forCodegen": boolean,
        "functions": string,
        "componentDefinitions": array(mapping()),
        "nodeDependencies": array(mapping()),
        "nodeVersion": string,
        "nodeDefaultMemoryMb": count,
    },
)
SCHEMA_CHANGE = obj(
    {},
    {
        "allocatedComponentIds": mapping(),
        "schemaIds": mapping(string),
        "indexDiffs": mapping(mapping()),
    },
)
WAIT_FOR_SCHEMA = obj(
    {"schemaChange": SCHEMA_CHANGE},
    {**_ADMIN_KEY, "timeoutMs": count, "dryRun": boolean},
)
FINISH_PUSH = obj(
    {"startPush": obj({}, {"schemaChange": SCHEMA_CHANGE, "bayouPushId": string})},
    {**_ADMIN_KEY, "dryRun": boolean, "message": string},
)

_ANY_OBJECT = obj({})

# What each endpoint's body must be. evaluate_push and evaluate_schema get start_push's
# request (the CLI sends the same body to all three).
BODIES: dict[str, Check] = {
    "/api/get_config_hashes": obj({}, {**_ADMIN_KEY, "version": string}),
    "/api/deploy2/start_push": START_PUSH,
    "/api/deploy2/evaluate_push": START_PUSH,
    "/api/deploy2/evaluate_schema": START_PUSH,
    "/api/deploy2/wait_for_schema": WAIT_FOR_SCHEMA,
    "/api/deploy2/finish_push": FINISH_PUSH,
    "/api/deploy2/report_push_completed": obj({}, {**_ADMIN_KEY, "spans": array()}),
}


def check(endpoint: str, body: Any) -> dict[str, Any]:
    """`body` if it has the shape `endpoint` takes; else `BadRequest` naming the field."""
    try:
        BODIES.get(endpoint, _ANY_OBJECT)(body, "")
    except _Invalid as e:
        raise BadRequest(
            f"Invalid request body for {endpoint}: {e}. This request is what `npx convex "
            "deploy` (or `bayou deploy`) sends; check the client that sent it.",
            code="BadJsonBody",
        ) from None
    return body
