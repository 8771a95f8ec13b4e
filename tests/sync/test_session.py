"""A sync session over a real WebSocket: the protocol behaviours the official clients rely
on, including each of the ten pitfalls of wire-protocol.md §7 that concern the socket."""

from __future__ import annotations

import asyncio
import base64
import itertools

import orjson
import pytest

from tests.sync.conftest import Deployment, modification_for, ts_of


async def test_first_transition_starts_at_version_zero_and_advances_to_latest_ts(
    deployment: Deployment,
) -> None:
    c = await deployment.client()
    first = await c.connect()
    assert first["startVersion"] == {"querySet": 0, "identity": 0, "ts": "AAAAAAAAAAA="}
    assert first["endVersion"]["querySet"] == 1
    assert ts_of(first["endVersion"]["ts"]) == deployment.backend.db.latest_ts
    assert first["modifications"] == []


async def test_mutation_response_precedes_a_transition_reflecting_it(
    deployment: Deployment,
) -> None:
    """Pitfall 1: MutationResponse, then a Transition at ≥ its ts; by then the client has
    the mutation's effects on its subscriptions."""
    c = await deployment.client()
    await c.connect()
    query_id, first = await c.subscribe("messages:list")
    assert first["value"] == []
    response = await c.mutation("messages:send", {"body": "hi"})
    assert response["success"] is True
    await c.reflection_of(response)
    assert c.values[query_id] == ["hi"]


async def test_a_mutation_touching_no_subscription_still_gets_a_covering_transition(
    deployment: Deployment,
) -> None:
    c = await deployment.client()
    await c.connect()
    await c.subscribe("messages:list")
    response = await c.mutation("other:touch")
    after = await c.transition()
    assert after["modifications"] == []
    assert ts_of(after["endVersion"]["ts"]) >= ts_of(response["ts"])


async def test_transitions_chain_versions_and_never_go_back_in_time(deployment: Deployment) -> None:
    """Pitfall 2: each startVersion equals the previous endVersion (RawClient asserts it)."""
    c = await deployment.client()
    await c.connect()
    await c.subscribe("messages:list")
    await c.subscribe("messages:count")
    for i in range(3):
        await c.mutation("messages:send", {"body": str(i)})
        await c.transition()
    await c.modify([{"type": "Remove", "queryId": 0}])
    transitions = [m for m in c.received if m["type"] == "Transition"]
    tss = [ts_of(t["endVersion"]["ts"]) for t in transitions]
    assert tss == sorted(tss)
    for before, after in itertools.pairwise(transitions):
        assert after["startVersion"] == before["endVersion"]


async def test_several_query_set_changes_may_fold_into_one_transition(
    deployment: Deployment,
) -> None:
    c = await deployment.client()
    await c.connect()
    await c.modify(
        [{"type": "Add", "queryId": 0, "udfPath": "messages:list", "args": [{}]}], wait=False
    )
    await c.modify(
        [{"type": "Add", "queryId": 1, "udfPath": "messages:count", "args": [{}]}], wait=False
    )
    seen: set[int] = set()
    while c.version["querySet"] != 3:
        t = await c.transition()
        seen |= {m["queryId"] for m in t["modifications"]}
    assert seen == {0, 1}


async def test_admin_authentication_is_confirmed_by_a_transition_bumping_identity(
    deployment: Deployment,
) -> None:
    """Pitfall 3: an accepted Authenticate is answered by a Transition with identity + 1."""
    c = await deployment.client()
    await c.connect()
    await c.authenticate("Admin", deployment.admin_key)
    t = await c.transition()
    assert t["startVersion"]["identity"] == 0
    assert t["endVersion"]["identity"] == 1


async def test_acting_as_a_user_reruns_queries_as_that_user(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.connect()
    query_id, first = await c.subscribe("users:whoami")
    assert first["value"] is None
    await c.authenticate(
        "Admin", deployment.admin_key, impersonating={"issuer": "https://i", "subject": "u1"}
    )
    t = await c.transition()
    assert t["endVersion"]["identity"] == 1
    assert modification_for(t, query_id)["value"] == "https://i|u1"
    await c.authenticate("None")
    t = await c.transition()
    assert t["endVersion"]["identity"] == 2
    assert modification_for(t, query_id)["value"] is None


async def test_a_bad_admin_key_gets_an_auth_error_and_a_close_not_a_fatal_error(
    deployment: Deployment,
) -> None:
    c = await deployment.client()
    await c.connect()
    await c.authenticate("Admin", "convex-self-hosted|0123abcd")
    error = await c.recv()
    assert error["type"] == "AuthError"
    assert error["authUpdateAttempted"] is True
    assert error["baseVersion"] == 0
    await c.closed()


async def test_a_user_token_gets_a_clear_auth_error_until_user_auth_exists(
    deployment: Deployment,
) -> None:
    c = await deployment.client()
    await c.connect()
    await c.authenticate("User", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
    error = await c.recv()
    assert error["type"] == "AuthError"
    assert "auth providers" in error["error"] or "not available" in error["error"]
    await c.closed()


async def test_an_idle_session_receives_json_pings(deployment: Deployment) -> None:
    """Pitfall 4: heartbeats are `{"type":"Ping"}` messages, not only WS control frames."""
    c = await deployment.client()
    await c.connect()
    ping = await c.recv_any(timeout=5)
    assert ping == {"type": "Ping"}


async def test_values_use_convex_json_encoding(deployment: Deployment) -> None:
    """Pitfall 5: int64 and special floats as `$integer`/`$float`, plain floats as numbers."""
    c = await deployment.client()
    await c.connect()
    _, mod = await c.subscribe("values:special")
    value = mod["value"]
    assert value["int"] == {"$integer": "KgAAAAAAAAA="}
    assert value["neg"] == {"$integer": "//////////8="}
    assert value["nan"] == {"$float": "AAAAAAAA+H8="}
    assert value["inf"] == {"$float": "AAAAAAAA8H8="}
    assert value["negzero"] == {"$float": "AAAAAAAAAIA="}
    assert value["float"] == 5.0
    assert value["bytes"] == {"$bytes": base64.b64encode(b"hello").decode()}


async def test_int64_arguments_arrive_as_int64(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.connect()
    request_id = await c.request("Action", "actions:echo", {"value": {"$integer": "KgAAAAAAAAA="}})
    response = await c.response()
    assert response == {
        "type": "ActionResponse",
        "requestId": request_id,
        "success": True,
        "result": {"$integer": "KgAAAAAAAAA="},
        "logLines": ["[LOG] echoing"],
    }


async def test_presence_sensitive_fields_of_failures(deployment: Deployment) -> None:
    """Pitfall 6: logLines always; errorData only for ConvexError; ts null on failure."""
    c = await deployment.client()
    await c.connect()
    _, plain = await c.subscribe("messages:fails")
    assert plain["type"] == "QueryFailed" and plain["logLines"] == []
    assert "errorData" not in plain
    assert plain["errorMessage"].startswith("[Request ID: ")
    assert "query failure" in plain["errorMessage"]
    _, convex = await c.subscribe("messages:fails", {"convex": True})
    assert convex["type"] == "QueryFailed" and convex["errorData"] == "no access"

    failed = await c.mutation("messages:failWith")
    assert failed["success"] is False and failed["ts"] is None and failed["logLines"] == []
    assert "errorData" not in failed and "plain failure" in failed["result"]
    data = await c.mutation("messages:failWith", {"convex": True})
    assert data["errorData"] == {"code": "NOPE"}

    await c.request("Action", "actions:fail")
    action = await c.response()
    assert action["type"] == "ActionResponse" and action["success"] is False
    assert action["errorData"] == {"why": "because"} and "ts" not in action


async def test_function_errors_do_not_end_the_session(deployment: Deployment) -> None:
    """Pitfall 7: FatalError is only for protocol violations; a failing function is not one."""
    c = await deployment.client()
    await c.connect()
    await c.mutation("messages:failWith")
    _, failed = await c.subscribe("nosuch:fn")
    assert failed["type"] == "QueryFailed"
    assert "Could not find public function for 'nosuch:fn'" in failed["errorMessage"]
    response = await c.mutation("messages:send", {"body": "still here"})
    assert response["success"] is True


async def test_a_resent_mutation_after_reconnect_runs_once_and_replays_its_ts(
    deployment: Deployment,
) -> None:
    """Pitfall 8: same (sessionId, requestId) → the stored result and the original ts."""
    first = await deployment.client()
    await first.connect()
    response = await first.mutation("messages:send", {"body": "once"})
    await first.close()

    again = await deployment.client()
    again.session_id = first.session_id
    await again.connect(connectionCount=1, lastCloseReason="closed with code 1006")
    _query_id, listed = await again.subscribe("messages:list")
    await again.request("Mutation", "messages:send", {"body": "once"}, request_id=0)
    replay = await again.response()
    assert replay["type"] == "MutationResponse"
    assert replay["result"] == response["result"]
    assert replay["ts"] == response["ts"]
    await again.transition()
    _, listed = await again.subscribe("messages:list")
    assert listed["value"] == ["once"]


async def test_mutations_of_one_session_run_in_order(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.connect()
    _query_id, _ = await c.subscribe("messages:list")
    await c.request("Mutation", "messages:sendAfterGate", {"gate": "first", "body": "a"})
    await c.request("Mutation", "messages:send", {"body": "b"})
    await c.request("Mutation", "messages:send", {"body": "c"})
    await c.expect_nothing(0.3)  # the first blocks, and the others wait behind it
    deployment.gates.get("first").set()
    ids = []
    while len(ids) < 3:
        m = await c.recv()
        if m["type"] == "MutationResponse":
            ids.append(m["requestId"])
    assert ids == [0, 1, 2]
    _, listed = await c.subscribe("messages:list")
    assert listed["value"] == ["a", "b", "c"]


async def test_actions_run_concurrently(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.connect()
    await c.request("Action", "actions:echo", {"gate": "slow", "value": "slow"})
    await c.request("Action", "actions:echo", {"value": "fast"})
    first = await c.response()
    assert first["type"] == "ActionResponse" and first["result"] == "fast"
    deployment.gates.get("slow").set()
    second = await c.recv()
    while second["type"] != "ActionResponse":
        second = await c.recv()
    assert second["result"] == "slow"


async def test_an_action_that_writes_is_reflected_in_subscriptions(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.connect()
    query_id, _ = await c.subscribe("messages:list")
    await c.request("Action", "actions:sendVia", {"body": "via action"})
    updated = None
    while updated is None:
        m = await c.recv()
        if m["type"] == "Transition":
            for mod in m["modifications"]:
                if mod["queryId"] == query_id:
                    updated = mod
    assert updated["value"] == ["via action"]


@pytest.mark.parametrize("path", ["/api/sync", "/api/1.2.3/sync", "//api/1.48.0/sync"])
async def test_the_socket_answers_on_every_path_form(deployment: Deployment, path: str) -> None:
    """Pitfall 9: `/api/<any version>/sync`, `/api/sync`, and a doubled slash."""
    c = await deployment.client(path, **{"Convex-Client": "python-0.8.1"})
    first = await c.connect()
    assert first["type"] == "Transition"


@pytest.mark.parametrize("udf_path", ["messages:list", "messages.js:list", "messages.js:list"])
async def test_function_path_forms_name_the_same_query(
    deployment: Deployment, udf_path: str
) -> None:
    c = await deployment.client()
    await c.connect()
    _, mod = await c.subscribe(udf_path)
    assert mod["type"] == "QueryUpdated" and mod["value"] == []


async def test_removing_a_query_sends_query_removed(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.connect()
    query_id, _ = await c.subscribe("messages:list")
    t = await c.unsubscribe(query_id)
    assert t["modifications"] == [{"type": "QueryRemoved", "queryId": query_id}]
    await c.mutation("messages:send", {"body": "x"})
    covering = await c.transition()
    assert covering["modifications"] == []


async def test_a_query_set_before_connect_is_fatal(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.modify(
        [{"type": "Add", "queryId": 0, "udfPath": "messages:count", "args": [{}]}], wait=False
    )
    message = await c.recv()
    assert message["type"] == "FatalError", message
    assert "ModifyQuerySet was sent before Connect" in message["error"]
    await c.closed()


async def test_events_are_ignored(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.connect()
    await c.send({"type": "Event", "eventType": "ClientConnect", "event": {"anything": [1]}})
    await c.expect_nothing(0.2)
    _, mod = await c.subscribe("messages:count")
    assert mod["value"] == 0.0


async def test_a_client_ahead_of_the_server_is_refused_with_1011(deployment: Deployment) -> None:
    c = await deployment.client()
    ahead = deployment.backend.db.latest_ts + 10**12
    await c.send(
        {
            "type": "Connect",
            "sessionId": c.session_id,
            "connectionCount": 1,
            "maxObservedTimestamp": base64.b64encode(ahead.to_bytes(8, "little")).decode(),
        }
    )
    code, reason = await c.closed()
    assert code == 1011 and reason.startswith("InternalServerError")


async def test_clock_skew_is_reported_from_client_ts(deployment: Deployment) -> None:
    c = await deployment.client()
    import time

    t = await c.connect(clientTs=int(time.time() * 1000) - 5000)
    assert t["clientClockSkew"] is not None and t["clientClockSkew"] < 0
    assert isinstance(t["serverTs"], int)


async def test_sessions_end_cleanly_and_release_their_subscriptions(deployment: Deployment) -> None:
    sync = deployment.backend.sync
    assert sync is not None
    c = await deployment.client()
    await c.connect()
    await c.subscribe("messages:list")
    assert len(sync.sessions) == 1
    await c.close()
    for _ in range(100):
        if not sync.sessions:
            break
        await asyncio.sleep(0.02)
    assert not sync.sessions
    assert all(not e.subscribers for e in sync.cache._by_id.values())


async def test_raw_frames_are_json_text(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.send(
        {"type": "Connect", "sessionId": c.session_id, "connectionCount": 0, "clientTs": 0}
    )
    await c.send({"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": []})
    raw = await asyncio.wait_for(c.ws.recv(), 5)
    assert isinstance(raw, str)
    assert orjson.loads(raw)["type"] == "Transition"
