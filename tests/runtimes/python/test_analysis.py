"""Analysis of a pushed Python functions folder: the JSON shapes the core and the CLI
expect, and errors that name the file, the line and the fix."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from bayou.runtimes.python.host import AnalysisError, PythonRuntime
from tests.runtimes.python.conftest import modules

pytestmark = pytest.mark.asyncio(loop_scope="module")


def functions_of(analysis: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in analysis["modules"][path]["functions"]}


async def test_modules_are_keyed_by_pushed_path_with_sorted_functions(
    analysis: dict[str, Any],
) -> None:
    assert set(analysis) == {"modules", "schema", "authConfig", "definition"}
    assert set(analysis["modules"]) == {
        "actions.py",
        "channels.py",
        "crons.py",
        "http.py",
        "lib/helpers.py",
        "messages.py",
        "misc.py",
    }
    messages = analysis["modules"]["messages.py"]
    names = [f["name"] for f in messages["functions"]]
    assert names == sorted(names)
    assert messages["httpRoutes"] is None and messages["cronSpecs"] is None
    assert messages["sourceMapped"] is None
    assert analysis["modules"]["lib/helpers.py"]["functions"] == []


async def test_function_entries_carry_kind_visibility_and_validator_json(
    analysis: dict[str, Any],
) -> None:
    functions = functions_of(analysis, "messages.py")
    assert functions["send"] == {
        "name": "send",
        "pos": None,
        "udfType": "Mutation",
        "visibility": {"kind": "public"},
        "args": (
            '{"type":"object","value":{'
            '"channel":{"fieldType":{"type":"id","tableName":"channels"},"optional":false},'
            '"author":{"fieldType":{"type":"string"},"optional":false},'
            '"body":{"fieldType":{"type":"string"},"optional":false},'
            '"likes":{"fieldType":{"type":"number"},"optional":true}}}'
        ),
        "returns": '{"type":"id","tableName":"messages"}',
    }
    assert functions["list"]["udfType"] == "Query"
    assert functions["list"]["returns"] == "null"
    assert functions["clear"]["visibility"] == {"kind": "internal"}
    assert functions["body_of"]["udfType"] == "Query"
    assert functions_of(analysis, "actions.py")["post_and_read"]["udfType"] == "Action"
    # Helpers imported into a module are not its functions.
    assert "normalize" not in functions


async def test_http_module_lists_routes_and_http_actions(analysis: dict[str, Any]) -> None:
    http = analysis["modules"]["http.py"]
    assert http["httpRoutes"] == [
        {"route": {"path": "/postMessage", "method": "POST"}, "pos": None},
        {"route": {"path": "/echo/*", "method": "GET"}, "pos": None},
    ]
    post = functions_of(analysis, "http.py")["post_message"]
    assert post == {
        "name": "post_message",
        "pos": None,
        "udfType": "HttpAction",
        "visibility": None,
        "args": None,
        "returns": None,
    }


async def test_crons_module_carries_the_cron_jobs_export(analysis: dict[str, Any]) -> None:
    crons = analysis["modules"]["crons.py"]
    assert crons["cronSpecs"] == crons["crons"]
    assert crons["cronSpecs"]["clear messages"] == {
        "name": "messages:clear",
        "args": [{}],
        "schedule": {"minutes": 10, "type": "interval"},
    }
    assert crons["cronSpecs"]["paris"]["schedule"] == {
        "cron": "0 8 * * 1",
        "type": "cron",
        "timezone": "Europe/Paris",
    }


async def test_schema_is_the_define_schema_export(analysis: dict[str, Any]) -> None:
    schema = analysis["schema"]
    assert schema["schemaValidation"] is True
    tables = {t["tableName"]: t for t in schema["tables"]}
    assert list(tables) == ["channels", "messages", "counters"]
    assert tables["messages"]["indexes"] == [
        {"indexDescriptor": "by_channel", "fields": ["channel"]},
        {"indexDescriptor": "by_channel_author", "fields": ["channel", "author"]},
    ]
    assert tables["messages"]["searchIndexes"] == [
        {"indexDescriptor": "search_body", "searchField": "body", "filterFields": ["channel"]}
    ]
    assert tables["messages"]["documentType"]["value"]["likes"] == {
        "fieldType": {"type": "number"},
        "optional": True,
    }
    # The core's schema parser accepts it.
    from bayou.values.validators import document_validator_from_json

    for table in schema["tables"]:
        document_validator_from_json(table["documentType"])


async def test_analysis_json_round_trips_through_orjson(analysis: dict[str, Any]) -> None:
    assert orjson.loads(orjson.dumps(analysis)) == analysis


# --------------------------------------------------------------------------- failures


async def analyze_sources(runtime: PythonRuntime, name: str, sources: dict[str, str]) -> str:
    await runtime.load(name, modules(sources))
    with pytest.raises(AnalysisError) as info:
        await runtime.analyze(name)
    assert info.value.code == "InvalidModules"
    return info.value.message


async def test_syntax_error_names_file_and_line(runtime: PythonRuntime) -> None:
    message = await analyze_sources(
        runtime,
        "bad-syntax",
        {"ok.py": "x = 1\n", "broken.py": "from bayou import query\n\n\ndef f(:\n    pass\n"},
    )
    assert message.startswith("Failed to analyze broken.py (at broken.py:4): Uncaught SyntaxError")
    assert "def f(:" in message


async def test_exception_at_import_names_file_line_and_prints(runtime: PythonRuntime) -> None:
    message = await analyze_sources(
        runtime,
        "raises-at-import",
        {
            "lib/config.py": "def load():\n    return {}['missing']\n",
            "jobs.py": "print('loading jobs')\nfrom .lib.config import load\n\nSETTINGS = load()\n",
        },
    )
    assert message.startswith("Failed to analyze jobs.py (at lib/config.py:2): Uncaught KeyError")
    assert 'File "jobs.py", line 4, in <module>' in message
    assert 'File "lib/config.py", line 2, in load' in message
    assert "[LOG] loading jobs" in message


async def test_signature_mismatch_names_function_and_fix(runtime: PythonRuntime) -> None:
    source = (
        "from bayou import mutation, v\n\n\n"
        "@mutation(args={'body': v.string()})\n"
        "def send(ctx, text):\n"
        "    pass\n"
    )
    message = await analyze_sources(runtime, "bad-signature", {"messages.py": source})
    assert "messages.py:4" in message or "messages.py:5" in message
    assert "@mutation send (messages.py:4)" in message
    assert "args declares `body` but the handler has no parameter `body`" in message


async def test_unknown_validator_argument_is_reported(runtime: PythonRuntime) -> None:
    source = (
        "from bayou import query, v\n\n\n@query(args={'n': int})\ndef f(ctx, n):\n    return n\n"
    )
    message = await analyze_sources(runtime, "bad-validator", {"numbers.py": source})
    assert "Did you mean v.float64()" in message
    assert "numbers.py" in message


async def test_schema_that_is_not_define_schema_is_rejected(runtime: PythonRuntime) -> None:
    message = await analyze_sources(
        runtime, "bad-schema", {"schema.py": "schema = {'messages': {}}\n"}
    )
    assert message.startswith("Failed to analyze schema.py: schema.py must define `schema = ")
    assert "(`schema` is a dict)" in message


async def test_unstorable_cron_args_are_rejected(runtime: PythonRuntime) -> None:
    source = (
        "from bayou import Crons\n\ncrons = Crons()\n"
        "crons.hourly('h', 'jobs:tick', {'when': {1, 2}})\n"
    )
    message = await analyze_sources(runtime, "bad-crons", {"crons.py": source})
    assert "crons.py:4" in message
    assert "`.when` is a set" in message


async def test_functions_in_init_are_refused(runtime: PythonRuntime) -> None:
    source = "from bayou import query\n\n\n@query\ndef f(ctx):\n    return 1\n"
    message = await analyze_sources(runtime, "init-functions", {"__init__.py": source})
    assert "named module" in message


async def test_a_module_that_never_finishes_importing_is_stopped(runtime: PythonRuntime) -> None:
    rt = PythonRuntime(min_idle=0, analysis_timeout_s=0.5)
    await rt.start()
    try:
        await rt.load("loops", modules({"loop.py": "while True:\n    pass\n"}))
        with pytest.raises(AnalysisError, match=r"took more than 0\.5s"):
            await rt.analyze("loops")
    finally:
        await rt.close()


async def test_analysis_imports_with_the_deployment_environment(runtime: PythonRuntime) -> None:
    source = "import os\n\nAPI_KEY = os.environ['API_KEY']\n"
    await runtime.load("needs-env", modules({"config.py": source}))
    with pytest.raises(AnalysisError, match="KeyError: 'API_KEY'"):
        await runtime.analyze("needs-env")
    result = await runtime.analyze("needs-env", env={"API_KEY": "k"})
    assert result["modules"]["config.py"]["functions"] == []
