"""Bad input on a real `bayou serve`: the offending connection gets a FatalError naming the
problem; another session (subscribed with an admin key to a system query) keeps working."""

from __future__ import annotations

import asyncio
import urllib.request
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bayou.sync.limits import MAX_MESSAGE_BYTES, SyncLimits
from tests.compat.conftest import BayouServer

pytestmark = pytest.mark.compat
ENV_QUERY = "_system/cli/queryEnvironmentVariables"


async def open_socket(server: BayouServer) -> ClientConnection:
    ws = await connect(
        server.url.replace("http://", "ws://") + "/api/1.48.0/sync",
        max_size=None,
        ping_interval=None,
    )
    await ws.send(
        orjson.dumps(
            {"type": "Connect", "sessionId": str(uuid.uuid4()), "connectionCount": 0, "clientTs": 0}
        ).decode()
    )
    await ws.send(
        orjson.dumps(
            {"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": []}
        ).decode()
    )
    assert (await recv(ws))["type"] == "Transition"
    return ws


async def recv(ws: ClientConnection) -> dict[str, Any]:
    while True:
        message = orjson.loads(await asyncio.wait_for(ws.recv(), 20))
        if message["type"] != "Ping":
            return message


@pytest.fixture
async def bystander(bayou_server: BayouServer) -> AsyncIterator[ClientConnection]:
    """An admin session subscribed to the environment variables."""
    ws = await open_socket(bayou_server)
    await ws.send(
        orjson.dumps(
            {
                "type": "Authenticate",
                "tokenType": "Admin",
                "value": bayou_server.admin_key,
                "baseVersion": 0,
            }
        ).decode()
    )
    assert (await recv(ws))["endVersion"]["identity"] == 1
    add = {"type": "Add", "queryId": 0, "udfPath": ENV_QUERY, "args": [{}]}
    await ws.send(
        orjson.dumps(
            {"type": "ModifyQuerySet", "baseVersion": 1, "newVersion": 2, "modifications": [add]}
        ).decode()
    )
    first = await recv(ws)
    assert first["modifications"][0]["type"] == "QueryUpdated"
    yield ws
    await ws.close()


async def assert_bystander_served(server: BayouServer, ws: ClientConnection) -> None:
    name = f"V{uuid.uuid4().hex[:8].upper()}"
    body = orjson.dumps({"changes": [{"name": name, "value": "1"}]})
    request = urllib.request.Request(
        server.url + "/api/update_environment_variables",
        data=body,
        headers={"Authorization": f"Convex {server.admin_key}", "Content-Type": "application/json"},
    )
    await asyncio.to_thread(lambda: urllib.request.urlopen(request, timeout=20).read())
    while True:
        message = await recv(ws)
        names = [v["name"] for m in message.get("modifications", []) for v in m.get("value", [])]
        if name in names:
            return


async def assert_fatal(ws: ClientConnection, problem: str) -> None:
    message = await recv(ws)
    assert message["type"] == "FatalError" and problem in message["error"], message
    with pytest.raises(ConnectionClosed):
        await recv(ws)


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        ("{malformed", "not valid JSON"),
        ('{"type":"Unsubscribe"}', "Unknown message type 'Unsubscribe'"),
        (
            '{"type":"ModifyQuerySet","baseVersion":7,"newVersion":8,"modifications":[]}',
            "Base version 7",
        ),
    ],
)
async def test_protocol_violations_end_only_the_offending_connection(
    bayou_server: BayouServer, bystander: ClientConnection, frame: str, problem: str
) -> None:
    bad = await open_socket(bayou_server)
    await bad.send(frame)
    await assert_fatal(bad, problem)
    await assert_bystander_served(bayou_server, bystander)


async def test_an_oversized_message_gets_a_fatal_error(
    bayou_server: BayouServer, bystander: ClientConnection
) -> None:
    bad = await open_socket(bayou_server)
    body = "x" * (MAX_MESSAGE_BYTES + 1)
    await bad.send(
        f'{{"type":"Action","requestId":0,"udfPath":"a:b","args":[{{"body":"{body}"}}]}}'
    )
    await assert_fatal(bad, f"at most {MAX_MESSAGE_BYTES} bytes")
    await assert_bystander_served(bayou_server, bystander)


async def test_a_flood_of_subscriptions_gets_a_fatal_error(
    bayou_server: BayouServer, bystander: ClientConnection
) -> None:
    bad = await open_socket(bayou_server)
    limit = SyncLimits().max_queries
    adds = [
        {"type": "Add", "queryId": i, "udfPath": "messages:list", "args": [{"i": float(i)}]}
        for i in range(limit + 1)
    ]
    await bad.send(
        orjson.dumps(
            {"type": "ModifyQuerySet", "baseVersion": 1, "newVersion": 2, "modifications": adds}
        ).decode()
    )
    await assert_fatal(bad, f"at most {limit}")
    await assert_bystander_served(bayou_server, bystander)
