"""Text search and vector search end to end: apps deployed by the official CLI (TypeScript)
and `bayou deploy` (Python) to a real `bayou serve` on SQLite and on PostgreSQL, driven by
the official npm and PyPI clients."""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.compat.apps.clients import DriverClient, npm_client, pypi_client
from tests.compat.conftest import BayouServer, ConvexApp, app_copy, run_cli, start_server
from tests.compat.node_client import NodeClient

pytestmark = pytest.mark.compat

EXAMPLES = Path(__file__).parents[3] / "examples"
APPS = {"ts": EXAMPLES / "search-app", "py": EXAMPLES / "py-search-app"}
_BAYOU = [sys.executable, "-c", "from bayou.cli.main import app; app()"]


@dataclass
class SearchApp:
    language: str
    server: BayouServer
    app: ConvexApp

    def deploy(self) -> None:
        if self.language == "ts":
            self.app.deploy()
        else:
            run_cli("bayou", _BAYOU, ["deploy"], cwd=self.app.dir, server=self.server)

    def edit(self, old: str, new: str) -> None:
        name = "schema.ts" if self.language == "ts" else "schema.py"
        path = self.app.dir / "convex" / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def engine_env(request: pytest.FixtureRequest) -> Iterator[Callable[[], dict[str, str]]]:
    """The environment of a new server on this engine (a fresh PostgreSQL database each)."""
    if request.param == "sqlite":
        yield dict
        return
    url = request.getfixturevalue("postgres_url")
    made: list[str] = []

    def env() -> dict[str, str]:
        name = f"bayou-search-{secrets.token_hex(4)}"
        made.append(name.replace("-", "_"))
        return {"POSTGRES_URL": url, "DO_NOT_REQUIRE_SSL": "true", "INSTANCE_NAME": name}

    yield env
    with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
        for database in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["ts", "py"])
def search_app(
    request: pytest.FixtureRequest,
    engine_env: Callable[[], dict[str, str]],
    tmp_path_factory: pytest.TempPathFactory,
    node: str,
    js_dir: Path,
) -> Iterator[SearchApp]:
    language = request.param
    base = tmp_path_factory.mktemp(f"search-{language}")
    server = start_server(base / "data", env=engine_env())
    try:
        app = app_copy(APPS[language], base, server, node, js_dir)
        if not (app.dir / "package.json").exists():
            (app.dir / "package.json").write_text('{"name": "py-search", "private": true}\n')
        deployed = SearchApp(language, server, app)
        deployed.deploy()
        yield deployed
    finally:
        server.stop()


@pytest.fixture
def npm(search_app: SearchApp, node: str, js_dir: Path) -> Iterator[DriverClient]:
    with npm_client(node, js_dir, search_app.server.url, "http") as client:
        yield client


@pytest.fixture
def pypi(search_app: SearchApp) -> Iterator[DriverClient]:
    with pypi_client(search_app.server.url, "http") as client:
        yield client


def test_text_search_prefix_filters_relevance_and_limits(
    search_app: SearchApp, npm: DriverClient, pypi: DriverClient
) -> None:
    for body, channel in [
        ("the quick brown rabbit", "a"),
        ("rabbit rabbit rabbit", "b"),
        ("Send a REQUEST now", "a"),
        ("nothing to see", "a"),
    ]:
        npm.value("mutation", "notes:add", {"body": body, "channel": channel})
    for client in (npm, pypi):
        assert client.value("query", "notes:search", {"text": "rabbit"}) == [
            "rabbit rabbit rabbit",
            "the quick brown rabbit",
        ]
        assert set(client.value("query", "notes:search", {"text": "r"})) == {
            "the quick brown rabbit",
            "rabbit rabbit rabbit",
            "Send a REQUEST now",
        }
        assert client.value("query", "notes:search", {"text": "RABBIT", "channel": "a"}) == [
            "the quick brown rabbit"
        ]
        assert client.value("query", "notes:search", {"text": "rabbit", "limit": 1.0}) == [
            "rabbit rabbit rabbit"
        ]
        assert client.value("query", "notes:search", {"text": ""}) == []
        assert client.value(
            "query", "notes:searchThenFilter", {"text": "rabbit", "notChannel": "b"}
        ) == ["the quick brown rabbit"]


def test_search_pagination_and_own_writes(search_app: SearchApp, npm: DriverClient) -> None:
    for i in range(5):
        npm.value("mutation", "notes:add", {"body": f"paged kiwi {i}", "channel": "p"})
    seen: list[str] = []
    cursor = None
    while True:
        page = npm.value(
            "query",
            "notes:page",
            {"text": "kiwi", "paginationOpts": {"numItems": 2.0, "cursor": cursor}},
        )
        seen += page["page"]
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
    assert sorted(seen) == [f"paged kiwi {i}" for i in range(5)]
    assert len(seen) == 5
    assert npm.value("mutation", "notes:addAndSearch", {"body": "mine lime", "text": "lime"}) == [
        "mine lime"
    ]


async def test_search_subscription_updates_only_for_matching_writes(
    search_app: SearchApp, node: str, js_dir: Path
) -> None:
    url = search_app.server.url
    async with (
        NodeClient.start(node, js_dir, url) as reader,
        NodeClient.start(node, js_dir, url) as writer,
    ):
        reader.subscribe("s", "notes:search", {"text": "mango", "channel": "sub"})
        assert await reader.update("s") == []
        await writer.mutation("notes:add", {"body": "banana split", "channel": "sub"})
        await writer.mutation("notes:add", {"body": "mango lassi", "channel": "other"})
        await reader.no_update("s", 1.0)
        await writer.mutation("notes:add", {"body": "ripe Mango", "channel": "sub"})
        assert await reader.update("s") == ["ripe Mango"]


def test_bad_search_input_is_rejected_and_the_server_keeps_serving(
    search_app: SearchApp, npm: DriverClient
) -> None:
    field = npm.error("query", "notes:badSearch", {"kind": "field"})
    assert "doesn't match the indexed `searchField`" in field
    bad_filter = npm.error("query", "notes:badSearch", {"kind": "filter"})
    assert "isn't indexed for filtering in `filterFields`" in bad_filter
    assert "not found" in npm.error("query", "notes:badSearch", {"kind": "index"})
    huge = " ".join(f"w{i}" for i in range(5000))
    assert npm.value("query", "notes:search", {"text": huge}) == []
    assert npm.value("query", "notes:search", {"text": "!!! ..."}) == []
    assert isinstance(npm.value("mutation", "notes:add", {"body": "still", "channel": "x"}), str)


def test_vector_search_from_actions(
    search_app: SearchApp, npm: DriverClient, pypi: DriverClient
) -> None:
    for text, kind, vector in [
        ("north", "dir", [1.0, 0.0, 0.0, 0.0]),
        ("north-east", "dir", [1.0, 1.0, 0.0, 0.0]),
        ("up", "axis", [0.0, 0.0, 1.0, 0.0]),
    ]:
        npm.value("mutation", "embeddings:add", {"text": text, "kind": kind, "vector": vector})
    for client in (npm, pypi):
        got = client.value("action", "embeddings:similar", {"vector": [2.0, 0.0, 0.0, 0.0]})
        assert [r["text"] for r in got] == ["north", "north-east", "up"]
        assert got[0]["score"] == pytest.approx(1.0)
        assert got[1]["score"] == pytest.approx(0.7071, abs=1e-3)
        one = client.value(
            "action", "embeddings:similar", {"vector": [0.0, 0.0, 1.0, 0.0], "limit": 1.0}
        )
        assert [r["text"] for r in one] == ["up"]
        filtered = client.value(
            "action",
            "embeddings:similar",
            {"vector": [0.0, 1.0, 1.0, 0.0], "kinds": ["dir", "nope"]},
        )
        assert [r["text"] for r in filtered] == ["north-east", "north"]
    # A document written just before the search is found.
    for client, vector in ((npm, [0.1, 0.2, 0.3, 0.4]), (pypi, [0.4, 0.3, 0.2, 0.1])):
        assert client.value("action", "embeddings:addAndFind", {"text": "new", "vector": vector})
    wrong_dims = npm.error("action", "embeddings:similar", {"vector": [1.0, 0.0]})
    assert "Expected a vector with dimensions 4, received 2." in wrong_dims
    too_many = npm.error(
        "action", "embeddings:similar", {"vector": [1.0, 0.0, 0.0, 0.0], "limit": 257.0}
    )
    assert "Vector queries can fetch at most 256 results, requested 257." in too_many
    nan = {"$float": "AAAAAAAA+H8="}  # NaN, as the clients encode it
    assert "finite numbers" in npm.error(
        "action", "embeddings:similar", {"vector": [nan, 0.0, 0.0, 0.0]}
    )
    assert npm.value("action", "embeddings:similar", {"vector": [0.0, 0.0, 1.0, 0.0]})


def test_redeploy_backfills_and_restart_keeps_indexes(
    search_app: SearchApp, npm: DriverClient, node: str, js_dir: Path
) -> None:
    npm.value("mutation", "notes:add", {"body": "durable papaya", "channel": "r"})
    if search_app.language == "ts":
        search_app.edit('filterFields: ["channel"]', 'filterFields: ["channel", "body"]')
    else:
        search_app.edit('filter_fields=["channel"]', 'filter_fields=["channel", "body"]')
    search_app.deploy()  # a changed search index: rebuilt by backfill, switched on deploy
    assert npm.value("query", "notes:search", {"text": "papaya", "channel": "r"}) == [
        "durable papaya"
    ]
    search_app.server.restart()
    with npm_client(node, js_dir, search_app.server.url, "http") as client:
        assert client.value("query", "notes:search", {"text": "papaya", "channel": "r"}) == [
            "durable papaya"
        ]
        got = client.value("action", "embeddings:similar", {"vector": [1.0, 0.0, 0.0, 0.0]})
        assert got[0]["text"] == "north"
    print(json.dumps({"ok": True}))
