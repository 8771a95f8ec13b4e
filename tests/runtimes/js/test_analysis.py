"""Analysis of module sets captured from the official `npx convex deploy`."""

from __future__ import annotations

import json

import pytest

from bayou.runtimes.js import AnalysisError, JsRuntime, Module


def by_name(analysis, path):
    return {f.name: f for f in analysis.modules[path].functions}


# auth.config.ts reads AUTH_DOMAIN: as on Convex, a push without it is refused.
APP_ENV = {"AUTH_DOMAIN": "https://auth.example"}


async def test_analysis_reports_each_function_with_type_visibility_and_validators(
    runtime: JsRuntime,
) -> None:
    analysis = await runtime.analyze("app", env=APP_ENV)
    messages = by_name(analysis, "messages.js")
    assert set(messages) == {
        "byAuthor", "get", "send", "like", "edit", "remove", "transfer", "resetAll", "normalize",
        "sendTwice", "firstAndTwoBy", "bump",
    }  # fmt: skip
    assert messages["byAuthor"].udf_type == "Query"
    assert messages["send"].udf_type == "Mutation"
    assert messages["send"].visibility == "public"
    assert messages["resetAll"].visibility == "internal"
    args = json.loads(messages["byAuthor"].args)
    assert args["type"] == "object"
    assert args["value"]["minLikes"] == {"fieldType": {"type": "number"}, "optional": True}
    assert json.loads(messages["get"].returns)["type"] == "union"
    assert messages["send"].returns == "null"  # no `returns`: exportReturns() says "null"
    actions = by_name(analysis, "actions.js")
    assert {f.udf_type for f in actions.values()} == {"Action"}
    assert by_name(analysis, "nodeActions.js")["sha"].udf_type == "Action"
    assert not any(p.startswith("_deps/") for p in analysis.modules)


async def test_analysis_reports_routes_crons_schema_auth_and_app_definition(
    runtime: JsRuntime,
) -> None:
    analysis = await runtime.analyze("app", env={"AUTH_DOMAIN": "https://auth.example"})
    assert analysis.modules["http.js"].http_routes == [
        {"route": {"path": "/hello", "method": "GET"}, "pos": None},
        {"route": {"path": "/files/*", "method": "POST"}, "pos": None},
    ]
    assert analysis.http_routes == [
        {"path": "/hello", "method": "GET"},
        {"path": "/files/*", "method": "POST"},
    ]
    assert analysis.crons == {
        "clear messages": {
            "name": "messages:resetAll",
            "args": [{}],
            "schedule": {"type": "interval", "minutes": 5},
        },
        "nightly": {
            "name": "messages:resetAll",
            "args": [{}],
            "schedule": {"type": "daily", "hourUTC": 3, "minuteUTC": 30},
        },
    }
    tables = {t["tableName"]: t for t in analysis.schema["tables"]}
    assert tables["messages"]["indexes"] == [{"indexDescriptor": "by_author", "fields": ["author"]}]
    assert analysis.schema["schemaValidation"] is True
    assert analysis.auth_config == {
        "providers": [{"domain": "https://auth.example", "applicationID": "convex"}]
    }
    assert analysis.definition["definitionType"] == {"type": "app"}
    assert analysis.definition["childComponents"] == []


async def test_analyzed_modules_serialise_in_the_shape_start_push_returns(
    runtime: JsRuntime,
) -> None:
    analysis = await runtime.analyze("app", env=APP_ENV)
    entry = analysis.modules["messages.js"].to_json()
    assert set(entry) == {"functions", "httpRoutes", "cronSpecs", "sourceMapped"}
    send = next(f for f in entry["functions"] if f["name"] == "send")
    assert send == {
        "name": "send",
        "pos": None,
        "udfType": "Mutation",
        "visibility": {"kind": "public"},
        "args": send["args"],
        "returns": "null",
    }
    assert analysis.modules["http.js"].to_json()["httpRoutes"][0]["route"]["path"] == "/hello"


async def test_module_that_throws_at_import_fails_analysis_with_its_file_and_line(
    pushed_error_app: list[Module], node: str
) -> None:
    rt = JsRuntime(node=node, workers=1)
    await rt.start()
    try:
        await rt.load("broken", pushed_error_app)
        with pytest.raises(AnalysisError) as caught:
            await rt.analyze("broken")
    finally:
        await rt.close()
    message = caught.value.message
    assert caught.value.code == "InvalidModules"
    assert message.startswith(
        "Failed to analyze broken.js: Uncaught Error: BROKEN_CONFIG.required is missing"
    )
    # The throw is on line 7 of convex/broken.ts, reached from line 10.
    assert "at check (../convex/broken.ts:7:11)" in message
    assert "../convex/broken.ts:10:1" in message


async def test_using_the_database_at_import_time_fails_analysis(
    pushed_error_app: list[Module], node: str
) -> None:
    rt = JsRuntime(node=node, workers=1)
    await rt.start()
    try:
        await rt.load("broken", pushed_error_app)
        with pytest.raises(AnalysisError) as caught:
            # broken.js passes with this configuration; dbAtImport.js is next.
            await rt.analyze("broken", env={"BROKEN_CONFIG": '{"required": "yes"}'})
    finally:
        await rt.close()
    assert caught.value.message.startswith(
        "Failed to analyze dbAtImport.js: Uncaught Error: Can't use database at import time"
    )
    # The query's collect() (line 5), run by the top-level await of line 9.
    assert "at handler (../convex/dbAtImport.ts:5:56)" in caught.value.message


async def test_loading_an_unknown_version_is_a_clear_error(runtime: JsRuntime) -> None:
    with pytest.raises(Exception, match="was not loaded"):
        await runtime.analyze("never-loaded")


async def test_auth_config_refuses_a_variable_that_is_not_set(runtime: JsRuntime) -> None:
    with pytest.raises(AnalysisError) as e:
        await runtime.analyze("app")
    assert e.value.code == "AuthConfigMissingEnvironmentVariable"
    assert e.value.message.startswith(
        "Environment variable AUTH_DOMAIN is used in auth config file but its value was not set"
    )
