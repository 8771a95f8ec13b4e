"""Components through the official tools: examples/components-app installs five npm
components (sharded-counter, aggregate, rate-limiter, workpool, action-retrier: four of
them use @convex-dev/batch-worker, a component of their own) and a component of the app's
own twice; `npx convex deploy` pushes the tree, and the official clients exercise each
component through its documented API."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.compat.apps.clients import DriverClient, npm_client
from tests.compat.conftest import ConvexApp, app_copy, eventually, start_server
from tests.compat.node_client import NodeClient

pytestmark = pytest.mark.compat

APP = Path(__file__).parents[2] / "examples" / "components-app"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, node: str, js_dir: Path) -> Iterator[ConvexApp]:
    base = tmp_path_factory.mktemp("components")
    server = start_server(base / "data")
    try:
        app = app_copy(APP, base, server, node, js_dir)
        # Typechecked, as `npx convex deploy` does by default with a convex/tsconfig.json:
        # the types the CLI generates from the push's analysis (components.notes.lib.add…)
        # must be right.
        app.cli("deploy", "--typecheck", "enable", "-y")
        yield app
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(app: ConvexApp, node: str, js_dir: Path) -> Iterator[DriverClient]:
    with npm_client(node, js_dir, app.server.url, "http") as c:
        yield c


def test_the_push_installs_every_component(app: ConvexApp) -> None:
    app.cli("deploy", "--typecheck", "disable", "-y")  # a second push changes nothing
    for path in ("shardedCounter", "aggregate", "workpool", "workpool/batchWorker", "notes"):
        listed = app.cli("data", "--component", path)
        assert listed.stdout.strip(), (path, listed.stderr)  # its schema's tables exist
    assert "items" in app.cli("data", "--component", "notes").stdout.split()
    missing = app.cli("data", "--component", "nope", check=False)
    assert missing.returncode != 0 and "nope" in missing.stdout + missing.stderr


def test_sharded_counter_counts_concurrent_increments(
    app: ConvexApp, node: str, js_dir: Path
) -> None:
    def increments(_: int) -> None:
        with npm_client(node, js_dir, app.server.url, "http") as c:
            for _ in range(10):
                c.value("mutation", "app:increment", {"key": "clicks"})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(increments, range(4)))
    with npm_client(node, js_dir, app.server.url, "http") as c:
        assert c.value("query", "app:count", {"key": "clicks"}) == 40


def test_aggregate_matches_a_recount(client: DriverClient) -> None:
    for i, score in enumerate([3, 9, 4, 12, 7]):
        client.value("mutation", "app:addScore", {"name": f"p{i}", "score": score})
    assert client.value("query", "app:scoreStats") == client.value("query", "app:recount")
    assert client.value("query", "app:scoreStats")["count"] >= 5


def test_rate_limiter_refuses_the_call_over_the_limit(client: DriverClient) -> None:
    got = [client.value("mutation", "app:send", {"user": "ada"}) for _ in range(4)]
    assert got == [True, True, True, False]
    assert client.value("mutation", "app:send", {"user": "bob"}) is True  # per key


def test_workpool_runs_every_job_once(client: DriverClient) -> None:
    client.value("mutation", "app:enqueueMany", {"n": 12})
    done = eventually(lambda: (d := client.value("query", "app:jobsDone")) and len(d) >= 12 and d)
    time.sleep(0.5)  # nothing runs twice later either
    assert sorted(client.value("query", "app:jobsDone")) == list(range(12))
    assert len(done) == 12


def test_action_retrier_retries_until_success(client: DriverClient) -> None:
    run_id = client.value("mutation", "app:startFlaky", {"key": "k1", "failTimes": 2})
    status = eventually(
        lambda: (
            (s := client.value("query", "app:retryStatus", {"runId": run_id}))["type"]
            == "completed"
            and s
        )
    )
    assert status["result"] == {"type": "success", "returnValue": 3}


def test_two_instances_of_one_component_keep_separate_data(client: DriverClient) -> None:
    client.value("mutation", "app:addNote", {"text": "first"})
    client.value("mutation", "app:addNote", {"text": "second", "other": True})
    assert client.value("query", "app:listNotes") == ["first"]
    assert client.value("query", "app:listNotes", {"other": True}) == ["second"]


def test_a_component_cannot_reach_the_apps_tables(client: DriverClient) -> None:
    score_id = client.value("mutation", "app:addScore", {"name": "x", "score": 1})
    seen = client.value("query", "app:notesPeek", {"table": "scores", "id": score_id})
    assert seen == {"rows": 0, "got": None}


def test_clients_cannot_call_component_functions_directly(
    app: ConvexApp, node: str, js_dir: Path
) -> None:
    # The app's `notes` component has a public `lib:add`; only admins reach it directly.
    out = app.cli("run", "--component", "notes", "lib:list")
    assert "first" in out.stdout
    with npm_client(node, js_dir, app.server.url, "http") as c:
        assert "Could not find public function" in c.error("query", "notes/lib:list")


async def test_a_query_reading_a_component_reruns_when_its_table_changes(
    app: ConvexApp, client: DriverClient, node: str, js_dir: Path
) -> None:
    async with NodeClient.start(node, js_dir, app.server.url) as watcher:
        watcher.subscribe("notes", "app:listNotes", {"other": True})
        before = await watcher.update("notes")
        client.value("mutation", "app:addNote", {"text": "live", "other": True})
        after = await watcher.update_until("notes", lambda v: "live" in v)
        assert after == [*before, "live"]


def test_component_errors_and_bad_arguments_surface_to_the_caller(client: DriverClient) -> None:
    before = client.value("query", "app:listNotes")
    assert "a note needs text" in client.error("mutation", "app:addNote", {"text": ""})
    invalid = client.error("mutation", "app:addNoteUnchecked", {"text": 5})
    assert "ArgumentValidationError" in invalid and "text" in invalid
    missing = client.error("query", "app:callMissing")
    assert "lib:nope" in missing and "notes" in missing
    assert client.value("query", "app:listNotes") == before  # nothing written


def test_removing_a_component_unmounts_it_and_keeps_its_data(app: ConvexApp) -> None:
    config = app.dir / "convex" / "convex.config.ts"
    original = config.read_text()
    app_module = app.dir / "convex" / "app.ts"
    app_source = app_module.read_text()
    try:
        config.write_text(original.replace('app.use(notes, { name: "otherNotes" });\n', ""))
        app_module.write_text(
            app_source.replace("other ? components.otherNotes.lib.add : ", "").replace(
                "other ? components.otherNotes.lib.list : ", ""
            )
        )
        out = app.cli("deploy", "--typecheck", "disable", "-y")
        assert "otherNotes" in out.stdout + out.stderr  # reported as unmounted
        failed = app.cli("run", "--component", "otherNotes", "lib:list", check=False)
        assert failed.returncode != 0
    finally:
        config.write_text(original)
        app_module.write_text(app_source)
    app.cli("deploy", "--typecheck", "disable", "-y")
    listed = app.cli("run", "--component", "otherNotes", "lib:list").stdout
    assert "second" in listed and "live" in listed  # its data came back with it


def test_a_push_with_two_instances_of_one_name_is_refused(
    app: ConvexApp, client: DriverClient
) -> None:
    config = app.dir / "convex" / "convex.config.ts"
    original = config.read_text()
    try:
        config.write_text(original.replace('{ name: "otherNotes" }', '{ name: "notes" }'))
        out = app.cli("deploy", "--typecheck", "disable", "-y", check=False)
        assert out.returncode != 0
        assert "notes" in out.stdout + out.stderr
    finally:
        config.write_text(original)
    assert client.value("query", "app:listNotes") == ["first"]  # the deployment is unchanged


def test_a_component_schema_change_backfills_its_index(
    app: ConvexApp, client: DriverClient
) -> None:
    schema = app.dir / "convex" / "notes" / "schema.ts"
    lib = app.dir / "convex" / "notes" / "lib.ts"
    original_schema, original_lib = schema.read_text(), lib.read_text()
    try:
        schema.write_text(
            original_schema.replace(
                '.index("by_text", ["text"])',
                '.index("by_text", ["text"]).index("by_text_again", ["text"])',
            )
        )
        lib.write_text(
            original_lib
            + """
export const byText = query({
  args: { text: v.string() },
  handler: async (ctx, { text }) =>
    (await ctx.db.query("items").withIndex("by_text_again", (q) => q.eq("text", text)).collect())
      .map((d) => d.text),
});
"""
        )
        app.cli("deploy", "--typecheck", "disable", "-y")
        out = app.cli("run", "--component", "notes", "lib:byText", '{"text": "first"}')
        assert '"first"' in out.stdout
    finally:
        schema.write_text(original_schema)
        lib.write_text(original_lib)
        shutil.rmtree(app.dir / "convex" / "notes" / "_generated", ignore_errors=True)
    app.cli("deploy", "--typecheck", "disable", "-y")


def test_components_keep_working_after_a_restart(app: ConvexApp, node: str, js_dir: Path) -> None:
    app.server.restart()
    with npm_client(node, js_dir, app.server.url, "http") as c:
        assert c.value("query", "app:count", {"key": "clicks"}) == 40
        before = c.value("query", "app:listNotes")
        c.value("mutation", "app:addNote", {"text": "after restart"})
        assert c.value("query", "app:listNotes") == [*before, "after restart"]
        c.value("mutation", "app:enqueueMany", {"n": 3})  # the scheduler of a component
        eventually(lambda: len(c.value("query", "app:jobsDone")) >= 15)


def test_a_component_has_its_own_file_storage(client: DriverClient) -> None:
    stored = client.value("action", "app:storeNoteFile", {"text": "component file"})
    assert stored["url"] and httpx.get(stored["url"]).text == "component file"
    assert client.value("query", "app:noteFileUrl", {"id": stored["id"]}) == stored["url"]
    # The app's own `_storage` does not hold it.
    assert client.value("query", "app:appFileUrl", {"id": stored["id"]}) is None
    # An upload URL a component generated stores into the component's files.
    upload = client.value("mutation", "app:noteUploadUrl")
    answer = httpx.post(upload, content=b"uploaded", headers={"content-type": "text/plain"})
    uploaded = answer.json()["storageId"]
    url = client.value("query", "app:noteFileUrl", {"id": uploaded})
    assert httpx.get(url).content == b"uploaded"
    client.value("mutation", "app:removeNoteFile", {"id": stored["id"]})
    assert client.value("query", "app:noteFileUrl", {"id": stored["id"]}) is None
    assert httpx.get(stored["url"]).status_code == 404


def test_a_component_that_throws_at_import_is_refused(app: ConvexApp, client: DriverClient) -> None:
    lib = app.dir / "convex" / "notes" / "lib.ts"
    original = lib.read_text()
    before = client.value("query", "app:listNotes")
    try:
        lib.write_text(original + '\nthrow new Error("notes cannot start");\n')
        out = app.cli("deploy", "--typecheck", "disable", "-y", check=False)
        assert out.returncode != 0
        text = out.stdout + out.stderr
        assert "notes cannot start" in text and "notes" in text
    finally:
        lib.write_text(original)
    assert client.value("query", "app:listNotes") == before  # the old code still serves
