"""The dashboard's system queries over the sync protocol, as its page subscribes to them:
admins only, live (a commit elsewhere re-runs them), exact counts, pinned pages."""

from __future__ import annotations

from typing import Any

from tests.sync.conftest import Deployment, RawClient


async def _admin(deployment: Deployment) -> RawClient:
    c = await deployment.client("/api/sync")
    await c.connect()
    await c.authenticate("Admin", deployment.admin_key)
    await c.transition()
    return c


async def _update(c: RawClient, query_id: int) -> Any:
    """The next new result of `query_id` (transitions for other queries skipped)."""
    while True:
        transition = await c.transition()
        found = [m for m in transition["modifications"] if m.get("queryId") == query_id]
        if found:
            assert found[0]["type"] == "QueryUpdated", found[0]
            return found[0]["value"]


async def test_only_an_admin_may_subscribe(deployment: Deployment) -> None:
    c = await deployment.client("/api/sync")
    await c.connect()
    _, first = await c.subscribe("_system/dashboard/tables")
    assert first["type"] == "QueryFailed" and "admin" in first["errorMessage"]


async def test_tables_counts_and_pages_follow_a_commit_made_elsewhere(
    deployment: Deployment,
) -> None:
    writer = await deployment.client()
    await writer.connect()
    for body in ("one", "two", "three"):
        await writer.mutation("messages:send", {"body": body})
    c = await _admin(deployment)
    tables_id, tables = await c.subscribe("_system/dashboard/tables")
    names = [t["name"] for t in tables["value"]["tables"]]
    assert names[0] == "messages" and "_storage" in names
    counts_id, counts = await c.subscribe("_system/dashboard/tableCounts")
    assert counts["value"]["messages"] == 3
    page_args = {
        "table": "messages",
        "order": "asc",
        "paginationOpts": {"numItems": 2, "cursor": None},
    }
    _, first = await c.subscribe("_system/dashboard/documents", page_args)
    page = first["value"]
    assert [d["body"] for d in page["page"]] == ["one", "two"] and not page["isDone"]
    # The page pinned to its end (as the grid does): a document added after it is the
    # next page's, not this one's.
    pinned_args = {
        **page_args,
        "paginationOpts": {**page_args["paginationOpts"], "endCursor": page["continueCursor"]},
    }
    pinned_id, pinned = await c.subscribe("_system/dashboard/documents", pinned_args)
    assert [d["body"] for d in pinned["value"]["page"]] == ["one", "two"]

    await writer.mutation("messages:send", {"body": "four"})
    seen: dict[int, Any] = {}
    while counts_id not in seen:
        transition = await c.transition()
        for m in transition["modifications"]:
            seen[m["queryId"]] = m.get("value")
    assert seen[counts_id]["messages"] == 4
    assert tables_id not in seen and pinned_id not in seen  # nothing they read changed
    await writer.close()
    await c.close()


async def test_a_new_table_reaches_the_listing(deployment: Deployment) -> None:
    c = await _admin(deployment)
    tables_id, tables = await c.subscribe("_system/dashboard/tables")
    assert "ranked" not in [t["name"] for t in tables["value"]["tables"]]
    writer = await deployment.client()
    await writer.connect()
    await writer.mutation("messages:rank", {"rank": 1.0})
    listing = await _update(c, tables_id)
    assert "ranked" in [t["name"] for t in listing["tables"]]
    await writer.close()
    await c.close()


async def test_schedules_and_files_answer_for_an_empty_deployment(deployment: Deployment) -> None:
    c = await _admin(deployment)
    _, schedules = await c.subscribe("_system/dashboard/schedules")
    assert schedules["value"] == {"jobs": [], "crons": []}
    _, files = await c.subscribe(
        "_system/dashboard/files", {"paginationOpts": {"numItems": 50, "cursor": None}}
    )
    assert files["value"]["page"] == [] and files["value"]["isDone"] is True
    await c.close()
