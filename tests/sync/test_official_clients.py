"""The official clients against the sync layer (in-process server, fake runtime): the npm
`ConvexClient` in Node with `ws`, and the PyPI `convex` client (Rust core)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson
import pytest

from tests.compat.node_client import NodeClient
from tests.compat.pypi_round_trip import __file__ as PYPI_ROUND_TRIP
from tests.sync.conftest import Deployment

pytestmark = pytest.mark.compat


async def test_npm_client_sees_another_clients_mutation_and_nothing_for_other_tables(
    deployment: Deployment, node: str, js_dir: Path
) -> None:
    async with (
        NodeClient.start(node, js_dir, deployment.url) as reader,
        NodeClient.start(node, js_dir, deployment.url) as writer,
    ):
        reader.subscribe("list", "messages:list")
        assert await reader.update("list") == []
        await writer.mutation("messages:send", {"body": "hello npm"})
        assert await reader.update("list") == ["hello npm"]
        await writer.mutation("other:touch")
        await reader.no_update("list", 0.5)


async def test_npm_client_mutation_resolves_after_its_effects_are_visible(
    deployment: Deployment, node: str, js_dir: Path
) -> None:
    async with NodeClient.start(node, js_dir, deployment.url) as client:
        client.subscribe("count", "messages:count")
        assert await client.update("count") == 0.0
        for i in range(3):
            await client.mutation("messages:send", {"body": str(i)})
        values = [e["value"] for e in client.events if e.get("id") == "count"]
        assert values[-1] == 3.0  # each mutation resolved only once its transition arrived


async def test_npm_client_errors_and_actions(
    deployment: Deployment, node: str, js_dir: Path
) -> None:
    async with NodeClient.start(node, js_dir, deployment.url) as client:
        failed = await client.call("mutation", "messages:failWith", {"convex": True})
        assert failed["event"] == "failure" and failed["data"] == {"code": "NOPE"}
        plain = await client.call("mutation", "messages:failWith")
        assert plain["event"] == "failure" and "plain failure" in plain["message"]
        assert "data" not in plain
        echoed = await client.call(
            "action", "actions:echo", {"value": {"$integer": "KgAAAAAAAAA="}}
        )
        assert echoed == {**echoed, "event": "result", "value": {"$integer": "KgAAAAAAAAA="}}
        one_shot = await client.call("query", "messages:count")
        assert one_shot["value"] == 0.0


async def test_npm_client_admin_auth_acting_as_a_user(
    deployment: Deployment, node: str, js_dir: Path
) -> None:
    async with NodeClient.start(node, js_dir, deployment.url) as client:
        client.admin_auth(
            deployment.admin_key,
            {"subject": "s1", "issuer": "https://i", "tokenIdentifier": "https://i|s1"},
        )
        client.subscribe("me", "users:whoami")
        assert await client.update("me") == "https://i|s1"


async def test_npm_client_subscriptions_move_to_new_code_on_deploy(
    deployment: Deployment, node: str, js_dir: Path
) -> None:
    from tests.sync.app import build_app

    async with NodeClient.start(node, js_dir, deployment.url) as client:
        client.subscribe("greeting", "config:greeting")
        assert await client.update("greeting") == "hello nobody"
        deployment.activate(build_app(deployment.gates, version="v2", greeting="bonjour"))
        assert await client.update("greeting") == "bonjour nobody"


async def test_pypi_client_query_subscribe_mutation_action(deployment: Deployment) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PYPI_ROUND_TRIP),
        deployment.url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    out = orjson.loads(stdout.splitlines()[-1])  # the client prints log lines too
    assert out["before"] == 0.0
    assert out["first"] == []
    assert isinstance(out["id"], str)
    assert out["second"] == ["from python"]
    assert out["after"] == 1.0
    assert out["action"] == "py"
    assert out["error_data"] == {"code": "NOPE"}
