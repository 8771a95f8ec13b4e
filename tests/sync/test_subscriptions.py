"""Subscriptions: read-set invalidation, one timestamp per transition, only changed results,
executions shared across sessions, journals, and re-runs on new code."""

from __future__ import annotations

import asyncio

from tests.sync.app import build_app
from tests.sync.conftest import Deployment, modification_for


async def test_a_subscriber_is_updated_after_another_clients_mutation(
    deployment: Deployment,
) -> None:
    reader, writer = await deployment.client(), await deployment.client()
    await reader.connect()
    await writer.connect()
    query_id, _ = await reader.subscribe("messages:list")
    await writer.mutation("messages:send", {"body": "from writer"})
    update = await reader.transition()
    assert modification_for(update, query_id)["value"] == ["from writer"]


async def test_writes_to_an_unrelated_table_send_nothing(deployment: Deployment) -> None:
    reader, writer = await deployment.client(), await deployment.client()
    await reader.connect()
    await writer.connect()
    await reader.subscribe("messages:list")
    await writer.mutation("messages:send", {"body": "first"})
    await reader.transition()
    invocations = len(deployment.runtime.invocations)
    for _ in range(3):
        await writer.mutation("other:touch")
    await reader.expect_nothing(0.5)
    assert len(deployment.runtime.invocations) == invocations + 3  # the mutations only


async def test_a_rerun_with_an_unchanged_result_sends_nothing(deployment: Deployment) -> None:
    reader, writer = await deployment.client(), await deployment.client()
    await reader.connect()
    await writer.connect()
    query_id, first = await reader.subscribe("messages:exists")
    assert first["value"] is False
    await writer.mutation("messages:send", {"body": "a"})
    assert modification_for(await reader.transition(), query_id)["value"] is True
    runs = deployment.runtime.invocations.count("messages.js:exists")
    await writer.mutation("messages:send", {"body": "b"})
    await reader.expect_nothing(0.5)
    assert deployment.runtime.invocations.count("messages.js:exists") == runs + 1


async def test_invalidated_queries_of_a_session_update_together_at_one_timestamp(
    deployment: Deployment,
) -> None:
    reader, writer = await deployment.client(), await deployment.client()
    await reader.connect()
    await writer.connect()
    list_id, _ = await reader.subscribe("messages:list")
    count_id, _ = await reader.subscribe("messages:count")
    await writer.mutation("messages:send", {"body": "x"})
    update = await reader.transition()
    assert modification_for(update, list_id)["value"] == ["x"]
    assert modification_for(update, count_id)["value"] == 1.0
    await reader.expect_nothing(0.3)


async def test_identical_subscriptions_share_one_execution_per_change(
    deployment: Deployment,
) -> None:
    clients = [await deployment.client() for _ in range(5)]
    for c in clients:
        await c.connect()
        await c.subscribe("messages:list")
    assert deployment.runtime.invocations.count("messages.js:list") == 1
    writer = await deployment.client()
    await writer.connect()
    await writer.mutation("messages:send", {"body": "fan out"})
    for c in clients:
        update = await c.transition()
        assert modification_for(update, 0)["value"] == ["fan out"]
    assert deployment.runtime.invocations.count("messages.js:list") == 2


async def test_queries_that_read_the_identity_are_not_shared_between_users(
    deployment: Deployment,
) -> None:
    results = {}
    for user in ("u1", "u2"):
        c = await deployment.client()
        await c.connect()
        await c.authenticate(
            "Admin", deployment.admin_key, impersonating={"issuer": "https://i", "subject": user}
        )
        await c.transition()
        _, who = await c.subscribe("users:whoami")
        _, count = await c.subscribe("messages:count")
        results[user] = (who["value"], count["value"])
    assert results == {"u1": ("https://i|u1", 0.0), "u2": ("https://i|u2", 0.0)}
    assert deployment.runtime.invocations.count("users.js:whoami") == 2
    assert deployment.runtime.invocations.count("messages.js:count") == 1


async def test_internal_functions_are_for_admins_only(deployment: Deployment) -> None:
    anonymous = await deployment.client()
    await anonymous.connect()
    _, denied = await anonymous.subscribe("secret:internalList")
    assert denied["type"] == "QueryFailed"
    assert "Could not find public function" in denied["errorMessage"]
    admin = await deployment.client()
    await admin.connect()
    await admin.authenticate("Admin", deployment.admin_key)
    await admin.transition()
    _, allowed = await admin.subscribe("secret:internalList")
    assert allowed["type"] == "QueryUpdated", allowed
    assert allowed["value"] == 0.0


async def test_a_deleted_document_invalidates_queries_that_read_it(deployment: Deployment) -> None:
    reader, writer = await deployment.client(), await deployment.client()
    await reader.connect()
    await writer.connect()
    first = await writer.mutation("messages:send", {"body": "doomed"})
    query_id, listed = await reader.subscribe("messages:list")
    assert listed["value"] == ["doomed"]
    await writer.mutation("messages:remove", {"id": first["result"]})
    assert modification_for(await reader.transition(), query_id)["value"] == []


async def test_a_paginated_page_keeps_its_end_and_shrinks_instead_of_shifting(
    deployment: Deployment,
) -> None:
    writer = await deployment.client()
    await writer.connect()
    ids = [
        (await writer.mutation("messages:rank", {"rank": float(r)}))["result"] for r in (1, 2, 3)
    ]
    reader = await deployment.client()
    await reader.connect()
    opts = {"numItems": 2.0, "cursor": None}
    query_id, first = await reader.subscribe("messages:page", {"paginationOpts": opts})
    assert first["value"]["page"] == [1.0, 2.0]
    assert first["journal"] is not None
    await writer.mutation("messages:remove", {"id": ids[0]})
    shrunk = modification_for(await reader.transition(), query_id)
    assert shrunk["value"]["page"] == [2.0]  # not [2, 3]: the page ends where it ended
    await writer.mutation("messages:rank", {"rank": 4.0})
    await reader.expect_nothing(0.3)  # after the page's end: not part of it


async def test_a_resubscription_with_a_journal_resumes_the_same_page(
    deployment: Deployment,
) -> None:
    writer = await deployment.client()
    await writer.connect()
    for r in (1, 2, 3):
        await writer.mutation("messages:rank", {"rank": float(r)})
    reader = await deployment.client()
    await reader.connect()
    opts = {"numItems": 1.0, "cursor": None}
    _, first = await reader.subscribe("messages:page", {"paginationOpts": opts})
    again = await deployment.client()
    await again.connect()
    _, resumed = await again.subscribe(
        "messages:page",
        {"paginationOpts": {"numItems": 5.0, "cursor": None}},
        journal=first["journal"],
    )
    assert resumed["value"]["page"] == [1.0]


async def test_a_deploy_reruns_subscriptions_on_the_new_code_without_dropping_sessions(
    deployment: Deployment,
) -> None:
    c = await deployment.client()
    await c.connect()
    query_id, first = await c.subscribe("config:greeting")
    assert first["value"] == "hello nobody"
    deployment.activate(build_app(deployment.gates, version="v2", greeting="welcome"))
    update = await c.transition()
    assert modification_for(update, query_id)["value"] == "welcome nobody"
    response = await c.mutation("messages:send", {"body": "same socket"})
    assert response["success"] is True


async def test_an_environment_change_reruns_subscriptions(deployment: Deployment) -> None:
    c = await deployment.client()
    await c.connect()
    query_id, _ = await c.subscribe("config:greeting")
    await deployment.backend.update_environment([("GREETING_NAME", "Ada")])
    update = await c.transition()
    assert modification_for(update, query_id)["value"] == "hello Ada"


async def test_one_shot_queries_are_served_from_the_cache_while_valid(
    deployment: Deployment,
) -> None:
    for _ in range(3):
        c = await deployment.client()
        await c.connect()
        query_id, _ = await c.subscribe("messages:count")
        await c.unsubscribe(query_id)
        await c.close()
    assert deployment.runtime.invocations.count("messages.js:count") == 1


async def test_a_fan_out_updates_sessions_without_a_task_each(deployment: Deployment) -> None:
    """When the shared re-run is ready, each session's update runs in the cache's callback
    (a task only if its socket cannot take the message): ten thousand sessions on one query
    then cost no ten thousand tasks."""
    clients = [await deployment.client() for _ in range(8)]
    for c in clients:
        await c.connect()
        await c.subscribe("messages:list")
    writer = await deployment.client()
    await writer.connect()
    loop = asyncio.get_running_loop()
    updaters: list[str] = []

    def counting_factory(loop: asyncio.AbstractEventLoop, coro, **kwargs):  # type: ignore[no-untyped-def]
        if "SyncSession" in getattr(coro, "__qualname__", ""):
            updaters.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting_factory)
    try:
        response = await writer.mutation("messages:send", {"body": "fan out"})
        for c in clients:
            update = await c.transition()
            assert modification_for(update, 0)["value"] == ["fan out"]
        await writer.reflection_of(response)
    finally:
        loop.set_task_factory(None)
    # The writer's own session ran its mutation in a task; no subscriber needed one.
    assert updaters.count("SyncSession._guard") <= 2, updaters


async def test_a_session_whose_socket_is_busy_does_not_hold_up_the_fan_out(
    deployment: Deployment,
) -> None:
    clients = [await deployment.client() for _ in range(3)]
    for c in clients:
        await c.connect()
        await c.subscribe("messages:list")
    sync = deployment.backend.sync
    assert sync is not None and len(sync.sessions) == 3
    # The first session's socket takes nothing until released (a slow client's).
    slow = next(s for s in sync.sessions if s.session_id == clients[0].session_id)
    real_send, released = slow.outbox.transport.send_text, asyncio.Event()

    async def held_send(text: str) -> None:
        await released.wait()
        await real_send(text)

    slow.outbox.transport.send_text = held_send  # type: ignore[method-assign]
    writer = await deployment.client()
    await writer.connect()
    await writer.mutation("messages:send", {"body": "fan out"})
    for c in clients[1:]:
        assert modification_for(await c.transition(), 0)["value"] == ["fan out"]
    await clients[0].expect_nothing(0.2)
    released.set()
    assert modification_for(await clients[0].transition(), 0)["value"] == ["fan out"]
