"""The official clients and CLI against a real `bayou serve` with the TypeScript test app
deployed by `npx convex deploy`: subscriptions over the sync protocol end to end."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest

from tests.compat.conftest import ConvexApp
from tests.compat.line_reader import LineReader
from tests.compat.node_client import NodeClient
from tests.compat.pypi_round_trip import __file__ as PYPI_ROUND_TRIP

pytestmark = pytest.mark.compat


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_npm_client_receives_the_update_after_another_clients_mutation(
    convex_app: ConvexApp, node: str, js_dir: Path
) -> None:
    url = convex_app.server.url
    async with (
        NodeClient.start(node, js_dir, url) as reader,
        NodeClient.start(node, js_dir, url) as writer,
    ):
        reader.subscribe("list", "messages:list")
        before = await reader.update("list")
        body = unique("npm")
        await writer.mutation("messages:send", {"body": body})
        after = await reader.update("list")
        assert after == [*before, body]


async def test_npm_client_gets_nothing_when_an_unrelated_table_changes(
    convex_app: ConvexApp, node: str, js_dir: Path
) -> None:
    url = convex_app.server.url
    async with (
        NodeClient.start(node, js_dir, url) as reader,
        NodeClient.start(node, js_dir, url) as writer,
    ):
        reader.subscribe("list", "messages:list")
        await reader.update("list")
        for _ in range(3):
            await writer.mutation("other:touch")
        await reader.no_update("list", 1.0)


async def test_npm_client_paginated_query_and_errors(
    convex_app: ConvexApp, node: str, js_dir: Path
) -> None:
    async with NodeClient.start(node, js_dir, convex_app.server.url) as client:
        for rank in (10.0, 20.0, 30.0):
            await client.mutation("messages:rank", {"rank": rank})
        client.subscribe(
            "page", "messages:page", {"paginationOpts": {"numItems": 2.0, "cursor": None}}
        )
        page = await client.update("page")
        assert page["page"] == [10.0, 20.0] and page["isDone"] is False
        await client.mutation("messages:rank", {"rank": 15.0})
        grown = await client.update("page")
        assert grown["page"] == [10.0, 15.0, 20.0]  # the page keeps its end: it grows
        failed = await client.call("mutation", "messages:failWith", {"convex": True})
        assert failed["event"] == "failure" and failed["data"] == {"code": "NOPE"}
        echoed = await client.call(
            "action", "actions:echo", {"value": {"$integer": "KgAAAAAAAAA="}}
        )
        assert echoed["value"] == {"$integer": "KgAAAAAAAAA="}


def test_pypi_client_subscribe_query_mutation_action(convex_app: ConvexApp) -> None:
    proc = subprocess.run(
        [sys.executable, PYPI_ROUND_TRIP, convex_app.server.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = orjson.loads(proc.stdout.splitlines()[-1])
    assert out["second"] == [*out["first"], "from python"]
    assert out["after"] == out["before"] + 1
    assert isinstance(out["id"], str)
    assert out["action"] == "py"
    assert out["error_data"] == {"code": "NOPE"}


def test_cli_data_lists_tables_and_documents(convex_app: ConvexApp) -> None:
    body = unique("data")
    convex_app.cli("run", "messages:send", orjson.dumps({"body": body}).decode())
    tables = convex_app.cli("data").stdout.split()
    assert {"messages", "other", "ranked"} <= set(tables)
    rows = convex_app.cli(
        "data", "messages", "--format", "jsonl", "--limit", "1000"
    ).stdout.splitlines()
    docs = [orjson.loads(row) for row in rows]
    assert body in [d["body"] for d in docs]
    assert all(isinstance(d["_id"], str) and isinstance(d["_creationTime"], float) for d in docs)
    table = convex_app.cli("data", "messages").stdout
    assert "_creationTime" in table and body in table


def test_cli_function_spec_lists_the_apps_functions(convex_app: ConvexApp) -> None:
    spec = orjson.loads(convex_app.cli("function-spec").stdout)
    assert spec["url"] == convex_app.server.url
    by_id = {f["identifier"]: f for f in spec["functions"]}
    assert by_id["messages.js:send"]["functionType"] == "Mutation"
    assert by_id["messages.js:send"]["visibility"] == {"kind": "public"}
    assert by_id["messages.js:send"]["args"]["type"] == "object"
    assert by_id["messages.js:list"]["functionType"] == "Query"
    assert by_id["actions.js:echo"]["functionType"] == "Action"


def test_cli_run_watch_prints_live_updates(convex_app: ConvexApp) -> None:
    watch = convex_app.cli_process("run", "--watch", "messages:list")
    try:
        assert watch.stdout is not None
        output = LineReader(watch.stdout)
        output.wait_for(lambda line: line.startswith("]") or line.strip() == "[]", timeout=60)
        body = unique("watched")
        convex_app.cli("run", "messages:send", orjson.dumps({"body": body}).decode())
        output.wait_for(lambda line: body in line, timeout=60)
    finally:
        watch.terminate()
        try:
            watch.wait(10)
        except subprocess.TimeoutExpired:
            watch.kill()
            watch.wait()


def test_cli_dev_once_pushes_and_exits(convex_app: ConvexApp) -> None:
    proc = convex_app.cli("dev", "--once", "--typecheck", "disable")
    assert "Convex functions ready" in proc.stdout + proc.stderr


def test_cli_env_changes_rerun_subscriptions(convex_app: ConvexApp) -> None:
    watch = convex_app.cli_process("run", "--watch", "config:greeting")
    try:
        assert watch.stdout is not None
        output = LineReader(watch.stdout)
        output.wait_for(lambda line: "hello" in line, timeout=60)
        name = unique("Ada")
        convex_app.cli("env", "set", "GREETING_NAME", name)
        output.wait_for(lambda line: f"hello {name}" in line, timeout=60)
    finally:
        watch.terminate()
        watch.wait(10)


async def test_a_deploy_reruns_subscriptions_on_the_new_code_without_dropping_sessions(
    convex_app: ConvexApp, node: str, js_dir: Path
) -> None:
    async with NodeClient.start(node, js_dir, convex_app.server.url) as client:
        client.subscribe("greeting", "config:greeting")
        before = await client.update("greeting")
        assert before.startswith("hello ")
        source = convex_app.dir / "convex" / "config.ts"
        source.write_text(source.read_text().replace("`hello ", "`hello again "))
        convex_app.deploy()
        after = await client.update_until("greeting", lambda v: v.startswith("hello again "), 60)
        assert after == before.replace("hello ", "hello again ", 1)
        # The same session keeps working on the new code.
        body = unique("after-deploy")
        assert isinstance(await client.mutation("messages:send", {"body": body}), str)
