"""The dashboard's page and admin endpoints, in process (no language runtime needed):
who may call them, paging, counts, filters, and what they refuse. The page itself is
driven in Chromium by tests/compat/test_dashboard.py."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bayou.auth.admin_key import mint_admin_key
from bayou.backend import Backend
from bayou.config import Settings
from bayou.server.app import api_app
from bayou.server.dashboard_routes import ASSETS


@dataclass
class Api:
    client: httpx.AsyncClient
    key: str
    read_only_key: str

    async def get(self, path: str, key: str | None = "admin", **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self._headers(key))

    async def post(self, path: str, body: Any, key: str | None = "admin") -> httpx.Response:
        return await self.client.post(path, json=body, headers=self._headers(key))

    def _headers(self, key: str | None) -> dict[str, str]:
        chosen = {"admin": self.key, "read-only": self.read_only_key}.get(key or "", key)
        return {} if chosen is None else {"Authorization": f"Convex {chosen}"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    backend = Backend(Settings(data_dir=tmp_path / "data"), runtimes=lambda s: {})
    await backend.start()
    assert backend.credentials is not None
    name, secret = backend.credentials.name, backend.credentials.secret
    transport = httpx.ASGITransport(app=api_app(backend))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(
                client,
                mint_admin_key(name, secret),
                mint_admin_key(name, secret, read_only=True),
            )
    finally:
        await backend.stop()


async def test_the_page_and_its_assets_are_served_from_the_package(api: Api) -> None:
    page = await api.get("/dashboard", key=None)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    script = await api.get("/dashboard/app.js", key=None)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    deep_link = await api.get("/dashboard/data", key=None)
    assert deep_link.text == page.text
    for path in ("/dashboard/../server/app.py", "/dashboard/%2e%2e/dashboard_routes.py"):
        assert (await api.get(path, key=None)).status_code == 404


def test_no_asset_writes_html_from_data() -> None:
    """XSS-safe by construction: no asset assigns HTML (data goes in as text nodes)."""
    for asset in ASSETS.rglob("*.js"):
        text = asset.read_text()
        for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in text, f"{asset.name} uses {sink}"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/dashboard/overview", None),
        ("GET", "/api/dashboard/tables", None),
        ("GET", "/api/dashboard/functions", None),
        ("POST", "/api/dashboard/documents/insert", {"table": "t", "document": {}}),
        ("POST", "/api/dashboard/files/upload_url", {}),
    ],
)
async def test_every_endpoint_needs_an_admin_key(
    api: Api, method: str, path: str, body: Any
) -> None:
    if method == "GET":
        response = await api.get(path, key=None)
    else:
        response = await api.post(path, body, key=None)
    assert response.status_code == 403
    assert response.json()["code"] == "BadDeployKey"
    wrong = await api.get("/api/dashboard/overview", key="convex-self-hosted|00ff")
    assert wrong.status_code == 401


async def test_a_read_only_key_reads_but_every_write_is_refused(api: Api) -> None:
    overview = (await api.get("/api/dashboard/overview", key="read-only")).json()
    assert overview["readOnly"] is True
    assert (await api.get("/api/dashboard/tables", key="read-only")).status_code == 200
    inserted = (await api.post("/api/dashboard/documents/insert", _doc("a"))).json()["id"]
    for path, body in [
        ("/api/dashboard/documents/insert", _doc("b")),
        ("/api/dashboard/documents/replace", {"id": inserted, "document": {"n": 1}}),
        ("/api/dashboard/documents/delete", {"ids": [inserted]}),
        ("/api/dashboard/schedules/cancel", {"all": True}),
        ("/api/dashboard/files/upload_url", {}),
        ("/api/dashboard/files/delete", {"ids": []}),
    ]:
        response = await api.post(path, body, key="read-only")
        assert response.status_code == 403, path
    page = (await api.get("/api/dashboard/documents", table="notes")).json()
    assert [d["_id"] for d in page["page"]] == [inserted]


async def test_documents_page_through_the_index_and_counts_follow_writes(api: Api) -> None:
    for i in range(120):
        response = await api.post("/api/dashboard/documents/insert", _doc(f"n{i:03}", i=i))
        assert response.status_code == 200
    assert await _count(api, "notes") == 120

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = (
            await api.get(
                "/api/dashboard/documents", table="notes", numItems=50, order="asc", cursor=cursor
            )
        ).json()
        seen += [d["title"] for d in page["page"]]
        pages += 1
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
    assert seen == [f"n{i:03}" for i in range(120)] and pages == 3

    newest = (await api.get("/api/dashboard/documents", table="notes", numItems=1)).json()
    doc = newest["page"][0]
    assert doc["title"] == "n119" and doc["i"] == {"$integer": "dwAAAAAAAAA="}  # int64 kept
    await api.post("/api/dashboard/documents/delete", {"ids": [doc["_id"]]})
    assert await _count(api, "notes") == 119


async def test_replace_keeps_the_id_and_a_filter_selects_by_field(api: Api) -> None:
    first = (await api.post("/api/dashboard/documents/insert", _doc("old"))).json()["id"]
    await api.post("/api/dashboard/documents/insert", _doc("other"))
    response = await api.post(
        "/api/dashboard/documents/replace",
        {"id": first, "document": {"_id": first, "title": "<b>new</b>"}},
    )
    assert response.status_code == 200
    only = json.dumps({"$eq": [{"$field": "title"}, {"$literal": "<b>new</b>"}]})
    page = (await api.get("/api/dashboard/documents", table="notes", filter=only)).json()
    assert [(d["_id"], d["title"]) for d in page["page"]] == [(first, "<b>new</b>")]


async def test_system_tables_are_shown_but_not_edited(api: Api) -> None:
    tables = (await api.get("/api/dashboard/tables")).json()["tables"]
    assert {"_scheduled_functions", "_storage"} <= {t["name"] for t in tables}
    assert not any(t["name"] in ("_tables", "_index", "_env_vars") for t in tables)
    refused = await api.post(
        "/api/dashboard/documents/insert", {"table": "_storage", "document": {}}
    )
    assert refused.status_code == 400
    hidden = await api.get("/api/dashboard/documents", table="_tables")
    assert hidden.status_code == 400


async def test_upload_url_points_at_this_deployment(api: Api) -> None:
    url = (await api.post("/api/dashboard/files/upload_url", {})).json()["url"]
    assert "/api/storage/upload?token=" in url


async def _count(api: Api, table: str) -> int:
    tables = (await api.get("/api/dashboard/tables")).json()["tables"]
    return next(t["count"] for t in tables if t["name"] == table)


def _doc(title: str, i: int | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"title": title}
    if i is not None:
        # int64 in Convex's JSON encoding: base64 of its 8 little-endian bytes.
        document["i"] = {"$integer": base64.b64encode(i.to_bytes(8, "little")).decode()}
    return {"table": "notes", "document": document}


async def test_a_backup_downloads_with_the_key_in_the_header(api: Api) -> None:
    await api.post("/api/dashboard/documents/insert", _doc("kept"))
    made = (await api.post("/api/bayou/backups", {})).json()["backup"]
    response = await api.get(f"/api/dashboard/backups/{made['name']}", key="read-only")
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert (await api.get(f"/api/dashboard/backups/{made['name']}", key=None)).status_code == 403
    assert (await api.get("/api/dashboard/backups/backup-nope.zip")).status_code == 404


def test_the_assets_load_nothing_from_elsewhere() -> None:
    """Air-gapped hosts: no CDN, font or remote script is referenced by any asset."""
    for asset in ASSETS.rglob("*"):
        if asset.is_file():
            text = asset.read_text()
            assert "http://" not in text and "https://" not in text, asset.name
            assert "@import" not in text and "url(" not in text, asset.name


async def test_clear_deletes_a_batch_a_call_and_keeps_the_table(api: Api) -> None:
    for i in range(5):
        await api.post("/api/dashboard/documents/insert", _doc(f"c{i}"))
    answer = (await api.post("/api/dashboard/tables/clear", {"table": "notes"})).json()
    assert answer == {"deleted": 5, "hasMore": False}
    assert await _count(api, "notes") == 0
    again = (await api.post("/api/dashboard/tables/clear", {"table": "notes"})).json()
    assert again == {"deleted": 0, "hasMore": False}


async def test_delete_removes_a_table_and_refuses_system_tables_and_read_only_keys(
    api: Api,
) -> None:
    for i in range(3):
        await api.post("/api/dashboard/documents/insert", _doc(f"d{i}"))
    body = {"tableNames": ["notes"]}
    assert (
        await api.post("/api/dashboard/tables/delete", body, key="read-only")
    ).status_code == 403
    assert (
        await api.post("/api/dashboard/tables/clear", {"table": "notes"}, key="read-only")
    ).status_code == 403
    refused = await api.post("/api/dashboard/tables/delete", {"tableNames": ["_storage"]})
    assert refused.status_code == 400 and "system table" in refused.json()["message"]
    missing = await api.post("/api/dashboard/tables/delete", {"tableNames": ["nope"]})
    assert missing.status_code == 400 and missing.json()["code"] == "TableNotFound"
    deleted = await api.post("/api/dashboard/tables/delete", body)
    assert deleted.json() == {"deletedDocuments": 3}
    names = {t["name"] for t in (await api.get("/api/dashboard/tables")).json()["tables"]}
    assert "notes" not in names
    # The name is free again: a new, empty table.
    await api.post("/api/dashboard/documents/insert", _doc("fresh"))
    assert await _count(api, "notes") == 1


async def test_doctor_and_the_metrics_history_need_an_admin_key(api: Api) -> None:
    assert (await api.get("/api/dashboard/doctor", key=None)).status_code == 403
    checks = (await api.get("/api/dashboard/doctor", key="read-only")).json()["checks"]
    by_name = {c["name"]: c for c in checks}
    assert by_name["database"]["ok"] is True and "SQLite" in by_name["database"]["detail"]
    assert by_name["file store"]["ok"] is True
    assert by_name["files"]["ok"] is True
    assert by_name["deployed code"]["ok"] is None  # nothing deployed: a note
    assert (await api.get("/api/dashboard/metrics_history", key=None)).status_code == 403
    await api.post("/api/dashboard/documents/insert", _doc("counted"))
    history = (await api.get("/api/dashboard/metrics_history")).json()
    samples = history["samples"]
    # One sample from the start, one taken for this request: a chart has a first segment.
    assert len(samples) >= 2 and history["intervalS"] > 0
    assert samples[-1]["commits"] > samples[0]["commits"]
    assert {"calls", "errors", "conflicts", "sessions", "subscribed", "lag", "latency"} <= set(
        samples[-1]
    )


async def test_the_backup_listing_says_the_schedule_and_the_next_run(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", backup_schedule="0 3 * * *", backup_keep=3)
    backend = Backend(settings, runtimes=lambda s: {})
    await backend.start()
    try:
        assert backend.credentials is not None
        key = mint_admin_key(backend.credentials.name, backend.credentials.secret)
        transport = httpx.ASGITransport(app=api_app(backend))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            listing = (
                await client.get("/api/bayou/backups", headers={"Authorization": f"Convex {key}"})
            ).json()
        assert (listing["schedule"], listing["keep"]) == ("0 3 * * *", 3)
        assert listing["next"].endswith("T03:00:00+00:00")
    finally:
        await backend.stop()
