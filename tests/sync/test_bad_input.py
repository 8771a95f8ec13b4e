"""Bad input: the offending connection gets a FatalError naming the problem (or a refusal
of just the excess request); every other session carries on."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from bayou.protocol.sync_messages import ProtocolError
from tests.sync.conftest import TEST_LIMITS, Deployment, RawClient, modification_for


async def bystander(deployment: Deployment) -> tuple[RawClient, int]:
    c = await deployment.client()
    await c.connect()
    query_id, _ = await c.subscribe("messages:list")
    return c, query_id


async def assert_fatal(c: RawClient, problem: str) -> None:
    message = await c.recv()
    assert message["type"] == "FatalError", message
    assert problem in message["error"], message["error"]
    await c.closed()


async def assert_still_served(deployment: Deployment, c: RawClient, query_id: int) -> None:
    writer = await deployment.client()
    await writer.connect()
    body = f"after {len(c.received)}"
    await writer.mutation("messages:send", {"body": body})
    update = await c.transition()
    assert body in modification_for(update, query_id)["value"]


def add(query_id: int, path: str = "messages:list") -> dict[str, Any]:
    return {"type": "Add", "queryId": query_id, "udfPath": path, "args": [{}]}


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        ("{this is not json", "not valid JSON"),
        (b"\x00\x01 binary garbage", "not valid JSON"),
        ('"just a string"', "must be a JSON object"),
        ('{"type":"Subscribe","queryId":1}', "Unknown message type 'Subscribe'"),
        ('{"type":"Mutation","requestId":0,"udfPath":"messages:send"}', "missing the field `args`"),
        (
            '{"type":"ModifyQuerySet","baseVersion":0,"newVersion":1,"modifications":{}}',
            "modifications",
        ),
    ],
)
async def test_malformed_messages_end_only_that_connection(
    deployment: Deployment, frame: str | bytes, problem: str
) -> None:
    other, query_id = await bystander(deployment)
    bad = await deployment.client()
    await bad.connect()
    await bad.send(frame)
    await assert_fatal(bad, problem)
    await assert_still_served(deployment, other, query_id)


async def test_an_out_of_order_query_set_version_is_fatal(deployment: Deployment) -> None:
    other, query_id = await bystander(deployment)
    bad = await deployment.client()
    await bad.connect()
    await bad.send(
        {"type": "ModifyQuerySet", "baseVersion": 5, "newVersion": 6, "modifications": []}
    )
    await assert_fatal(bad, "Base version 5 passed up doesn't match the current version 1")
    await assert_still_served(deployment, other, query_id)


async def test_a_duplicate_query_id_or_unknown_removal_is_fatal(deployment: Deployment) -> None:
    dup = await deployment.client()
    await dup.connect()
    await dup.modify([add(0), add(0)], wait=False)
    await assert_fatal(dup, "Query 0 was added twice")
    unknown = await deployment.client()
    await unknown.connect()
    await unknown.modify([{"type": "Remove", "queryId": 9}], wait=False)
    await assert_fatal(unknown, "Query 9 was removed but is not in the set")


async def test_an_authenticate_with_a_stale_base_version_is_fatal(deployment: Deployment) -> None:
    bad = await deployment.client()
    await bad.connect()
    await bad.send({"type": "Authenticate", "tokenType": "None", "baseVersion": 3})
    await assert_fatal(bad, "identity version 0")


async def test_connect_twice_is_fatal(deployment: Deployment) -> None:
    bad = await deployment.client()
    await bad.connect()
    await bad.send({"type": "Connect", "sessionId": "again", "connectionCount": 0})
    await assert_fatal(bad, "Connect was sent twice")


async def test_an_oversized_message_is_fatal(deployment: Deployment) -> None:
    other, query_id = await bystander(deployment)
    bad = await deployment.client()
    await bad.connect()
    body = "x" * (TEST_LIMITS.max_message_bytes + 1)
    await bad.send(
        {"type": "Mutation", "requestId": 0, "udfPath": "messages:send", "args": [{"body": body}]}
    )
    await assert_fatal(bad, f"at most {TEST_LIMITS.max_message_bytes} bytes")
    await assert_still_served(deployment, other, query_id)


async def test_a_flood_of_subscriptions_is_fatal_before_any_runs(deployment: Deployment) -> None:
    other, query_id = await bystander(deployment)
    bad = await deployment.client()
    await bad.connect()
    runs = len(deployment.runtime.invocations)
    flood = [
        {
            "type": "Add",
            "queryId": i,
            "udfPath": "messages:page",
            "args": [{"paginationOpts": {"numItems": float(i + 1), "cursor": None}}],
        }
        for i in range(TEST_LIMITS.max_queries + 1)
    ]
    await bad.modify(flood, wait=False)
    await assert_fatal(bad, f"at most {TEST_LIMITS.max_queries}")
    assert len(deployment.runtime.invocations) == runs
    await assert_still_served(deployment, other, query_id)


async def test_subscriptions_accumulated_over_messages_count_toward_the_limit(
    deployment: Deployment,
) -> None:
    bad = await deployment.client()
    await bad.connect()
    for i in range(TEST_LIMITS.max_queries):
        await bad.modify([add(i, "messages:count")], wait=False)
    await bad.modify([add(TEST_LIMITS.max_queries, "messages:count")], wait=False)
    message = await bad.recv()
    while message["type"] == "Transition":
        message = await bad.recv()
    assert message["type"] == "FatalError" and "Too many queries" in message["error"]


async def test_excess_mutations_are_refused_one_by_one(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.connect()
    await c.request("Mutation", "messages:sendAfterGate", {"gate": "hold", "body": "running"})
    await asyncio.sleep(0.1)  # the first is running; the next ones queue behind it
    for i in range(TEST_LIMITS.max_pending_mutations + 2):
        await c.request("Mutation", "messages:send", {"body": f"q{i}"})
    refused = []
    for _ in range(2):
        m = await c.response()
        assert m["type"] == "MutationResponse" and m["success"] is False, m
        assert "Too many mutations" in m["result"]
        refused.append(m["requestId"])
    assert refused == [4, 5]
    deployment.gates.get("hold").set()
    done = []
    while len(done) < 1 + TEST_LIMITS.max_pending_mutations:
        m = await c.recv()
        if m["type"] == "MutationResponse":
            assert m["success"] is True
            done.append(m["requestId"])
    assert done == [0, 1, 2, 3]


async def test_excess_actions_are_refused_one_by_one(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.connect()
    for i in range(TEST_LIMITS.max_actions_in_flight):
        await c.request("Action", "actions:echo", {"gate": "actions", "value": float(i)})
    extra = await c.request("Action", "actions:echo", {"value": "extra"})
    refused = await c.recv()
    assert refused["type"] == "ActionResponse" and refused["requestId"] == extra
    assert refused["success"] is False and "Too many actions" in refused["result"]
    deployment.gates.get("actions").set()
    results = set()
    while len(results) < TEST_LIMITS.max_actions_in_flight:
        m = await c.recv()
        if m["type"] == "ActionResponse":
            results.add(m["result"])
    assert results == {0.0, 1.0, 2.0}


async def test_bad_arguments_fail_the_request_not_the_connection(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.connect()
    await c.send(
        {
            "type": "Mutation",
            "requestId": 0,
            "udfPath": "messages:send",
            "args": [{"$integer": "xx"}],
        }
    )
    failed = await c.response()
    assert failed["type"] == "MutationResponse" and failed["success"] is False
    await c.send({"type": "Mutation", "requestId": 1, "udfPath": "not a path!", "args": [{}]})
    failed = await c.response()
    assert failed["success"] is False and "Invalid function path" in failed["result"]
    _, query = await c.subscribe("messages:list", None)
    assert query["type"] == "QueryUpdated"
    t = await c.modify([{"type": "Add", "queryId": 5, "udfPath": "messages:list", "args": [1, 2]}])
    assert modification_for(t, 5)["type"] == "QueryFailed"


async def test_a_component_path_fails_the_query_clearly(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.connect()
    _, root = await c.subscribe("messages:list", componentPath="")
    assert root["type"] == "QueryUpdated"
    _, other = await c.subscribe("messages:list", componentPath="workpool")
    assert other["type"] == "QueryFailed" and "workpool" in other["errorMessage"]


async def test_sessions_that_failed_leave_no_state_behind(deployment: Deployment) -> None:
    sync = deployment.backend.sync
    assert sync is not None
    for _ in range(3):
        bad = await deployment.client()
        await bad.connect()
        await bad.subscribe("messages:list")
        await bad.send(orjson.dumps([1]))
        await assert_fatal(bad, "JSON object")
    for _ in range(100):
        if not sync.sessions:
            break
        await asyncio.sleep(0.02)
    assert not sync.sessions
    assert not any(e.subscribers for e in sync.cache._by_id.values())


async def test_query_set_changes_cannot_pile_up_unread(deployment: Deployment) -> None:
    """A client that keeps changing its query set without reading transitions is cut off."""
    sync = deployment.backend.sync
    assert sync is not None

    class Silent:
        async def receive(self) -> None:
            await asyncio.Event().wait()

        async def send_text(self, text: str) -> None:
            await asyncio.Event().wait()  # never drains: no transition is ever built

        async def close(self, code: int = 1000, reason: str = "") -> None:
            pass

    async def anyone(message: Any) -> Any:
        raise AssertionError

    session = sync.open(Silent(), anyone)
    session.outbox.push("blocks the outbox")
    await asyncio.sleep(0)
    await session._handle(orjson.dumps({"type": "Connect", "sessionId": "s", "connectionCount": 0}))
    version = 0
    with pytest.raises(ProtocolError, match="query set changes are waiting"):
        for _ in range(TEST_LIMITS.max_queries * 2):
            mods = [add(0, "messages:count"), {"type": "Remove", "queryId": 0}]
            frame = orjson.dumps(
                {
                    "type": "ModifyQuerySet",
                    "baseVersion": version,
                    "newVersion": version + 1,
                    "modifications": mods,
                }
            )
            await session._handle(frame)
            version += 1
    session.close()
    sync.forget(session)
