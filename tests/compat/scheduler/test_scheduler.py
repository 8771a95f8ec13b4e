"""Scheduled functions and crons through the official tools: `ctx.scheduler` from
mutations and actions, `_scheduled_functions` read by functions and by `npx convex data`,
results observed through a `ConvexClient` subscription, and the guarantees across a
SIGKILL of the server (a scheduled mutation runs exactly once; an action interrupted while
running is marked failed and never re-run)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat.apps.clients import DriverClient, npm_client
from tests.compat.conftest import ConvexApp, app_copy, eventually, start_server
from tests.compat.node_client import NodeClient

pytestmark = pytest.mark.compat

APP = Path(__file__).parent / "app"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, node: str, js_dir: Path) -> Iterator[ConvexApp]:
    base = tmp_path_factory.mktemp("scheduler")
    server = start_server(base / "data")
    try:
        yield app_copy(APP, base, server, node, js_dir).deploy()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(app: ConvexApp, node: str, js_dir: Path) -> Iterator[DriverClient]:
    with npm_client(node, js_dir, app.server.url, "http", app.server.admin_key) as c:
        yield c


def job_state(client: DriverClient, job_id: str) -> dict[str, Any]:
    return client.value("query", "jobs:job", {"id": job_id})["state"]


async def test_a_scheduled_mutation_runs_and_subscribers_see_it(
    app: ConvexApp, client: DriverClient, node: str, js_dir: Path
) -> None:
    async with NodeClient.start(node, js_dir, app.server.url) as watcher:
        watcher.subscribe("n", "jobs:count", {"kind": "follow-up"})
        assert await watcher.update("n") == 0
        job_id = client.value(
            "mutation", "jobs:scheduleRecord", {"kind": "follow-up", "delayMs": 50}
        )
        assert await watcher.update_until("n", lambda n: n == 1) == 1
    job = client.value("query", "jobs:job", {"id": job_id})
    assert job["name"] == "jobs.js:record"
    assert job["args"] == [{"kind": "follow-up", "note": "later"}]
    assert job["state"] == {"kind": "success"}
    assert job["completedTime"] >= job["scheduledTime"]


def test_a_mutation_that_throws_after_scheduling_schedules_nothing(client: DriverClient) -> None:
    before = len(client.value("query", "jobs:jobs"))
    error = client.error(
        "mutation", "jobs:scheduleRecord", {"kind": "never", "delayMs": 0, "fail": True}
    )
    assert "changed my mind" in error
    assert len(client.value("query", "jobs:jobs")) == before
    time.sleep(0.3)
    assert client.value("query", "jobs:count", {"kind": "never"}) == 0


def test_a_canceled_job_never_runs(client: DriverClient) -> None:
    job_id = client.value("mutation", "jobs:scheduleRecord", {"kind": "canceled", "delayMs": 800})
    client.value("mutation", "jobs:cancel", {"id": job_id})
    assert job_state(client, job_id) == {"kind": "canceled"}
    time.sleep(1.2)
    assert client.value("query", "jobs:count", {"kind": "canceled"}) == 0
    client.value("mutation", "jobs:cancel", {"id": job_id})  # a no-op once finished


def test_run_at_in_the_past_runs_now(client: DriverClient) -> None:
    job_id = client.value(
        "mutation", "jobs:scheduleAt", {"kind": "past", "at": time.time() * 1000 - 60_000}
    )
    eventually(lambda: job_state(client, job_id) == {"kind": "success"})


def test_a_scheduled_action_and_scheduling_from_an_action(client: DriverClient) -> None:
    job_id = client.value("mutation", "jobs:scheduleAction", {"kind": "act", "ms": 10})
    eventually(lambda: job_state(client, job_id) == {"kind": "success"})
    assert client.value("query", "jobs:notes", {"kind": "act"}) == ["started", "finished"]
    from_action = client.value("action", "jobs:scheduleFromAction", {"kind": "via-action"})
    eventually(lambda: job_state(client, from_action) == {"kind": "success"})


def test_what_a_canceled_action_schedules_afterwards_is_canceled(client: DriverClient) -> None:
    job_id = client.value("mutation", "jobs:scheduleSleeper", {"kind": "sleeper", "ms": 700})
    eventually(lambda: client.value("query", "jobs:notes", {"kind": "sleeper"}) == ["started"])
    client.value("mutation", "jobs:cancel", {"id": job_id})  # it is running: it runs on
    late = eventually(
        lambda: [
            j
            for j in client.value("query", "jobs:jobs")
            if j["args"] == [{"kind": "sleeper", "note": "scheduled late"}]
        ]
    )
    assert late[0]["state"] == {"kind": "canceled"}
    assert job_state(client, job_id) == {"kind": "canceled"}
    time.sleep(0.3)
    assert client.value("query", "jobs:notes", {"kind": "sleeper"}) == ["started"]


def test_scheduling_errors_are_convexs(client: DriverClient) -> None:
    missing = client.error("mutation", "jobs:scheduleMissing")
    assert (
        "Attempted to schedule function, but no exported function nope found in the file: "
        "jobs.js. Did you forget to export it?"
    ) in missing
    bad = client.error("mutation", "jobs:scheduleBadArgs")
    assert "ArgumentValidationError" in bad
    job_id = client.value("mutation", "jobs:scheduleFailing")
    state = eventually(lambda: (s := job_state(client, job_id))["kind"] == "failed" and s)
    assert "job boom" in state["error"]


def test_npx_convex_data_lists_scheduled_functions(app: ConvexApp, client: DriverClient) -> None:
    client.value("mutation", "jobs:scheduleRecord", {"kind": "listed", "delayMs": 60_000})
    out = app.cli("data", "_scheduled_functions", "--limit", "100").stdout
    assert "jobs.js:record" in out and "pending" in out


def test_an_interval_cron_runs_every_second(client: DriverClient) -> None:
    first = eventually(lambda: client.value("query", "jobs:count", {"kind": "tick"}))
    eventually(lambda: client.value("query", "jobs:count", {"kind": "tick"}) >= first + 2, 10)
    assert client.value("query", "jobs:count", {"kind": "nightly"}) == 0


# -- across a SIGKILL of the server ----------------------------------------------------


@pytest.fixture
def own_app(tmp_path: Path, node: str, js_dir: Path) -> Iterator[ConvexApp]:
    server = start_server(tmp_path / "data")
    try:
        yield app_copy(APP, tmp_path, server, node, js_dir).deploy()
    finally:
        server.stop()


def run(app: ConvexApp, path: str, args: dict[str, Any]) -> Any:
    out = app.cli("run", path, json.dumps(args)).stdout.strip()
    return json.loads(out) if out else None


def test_a_scheduled_mutation_commits_exactly_once_across_a_sigkill(own_app: ConvexApp) -> None:
    job_id = run(own_app, "jobs:scheduleRecord", {"kind": "survivor", "delayMs": 1500})
    own_app.server.kill()
    time.sleep(1.6)  # the job comes due while the server is down
    own_app.server.start()
    eventually(lambda: run(own_app, "jobs:job", {"id": job_id})["state"] == {"kind": "success"})
    time.sleep(0.5)
    assert run(own_app, "jobs:count", {"kind": "survivor"}) == 1


def test_an_action_interrupted_by_a_sigkill_is_failed_not_rerun(own_app: ConvexApp) -> None:
    job_id = run(own_app, "jobs:scheduleAction", {"kind": "cut", "ms": 30_000})
    eventually(lambda: run(own_app, "jobs:notes", {"kind": "cut"}) == ["started"])
    own_app.server.kill()
    own_app.server.start()
    state = eventually(
        lambda: (s := run(own_app, "jobs:job", {"id": job_id})["state"])["kind"] == "failed" and s
    )
    assert state["error"] == "Transient error while executing action"
    time.sleep(0.5)
    assert run(own_app, "jobs:notes", {"kind": "cut"}) == ["started"]


def test_a_deploy_changes_a_cron_while_it_runs(own_app: ConvexApp) -> None:
    eventually(lambda: run(own_app, "jobs:count", {"kind": "tick"}) >= 1)
    crons = own_app.dir / "convex" / "crons.ts"
    crons.write_text(crons.read_text().replace('{ kind: "tick" }', '{ kind: "tock" }'))
    own_app.deploy()
    eventually(lambda: run(own_app, "jobs:count", {"kind": "tock"}) >= 2)
    ticks = run(own_app, "jobs:count", {"kind": "tick"})
    time.sleep(1.5)  # the old cron is gone: no tick after the deploy
    assert run(own_app, "jobs:count", {"kind": "tick"}) == ticks


def test_a_cron_that_does_not_parse_refuses_the_push_naming_it(own_app: ConvexApp) -> None:
    crons = own_app.dir / "convex" / "crons.ts"
    crons.write_text(crons.read_text().replace('"0 9 * * 1-5"', '"61 9 * * 1-5"'))
    refused = own_app.cli("deploy", "--typecheck", "disable", "-y", check=False)
    assert refused.returncode != 0
    assert "Cron job 'weekdays' has an invalid schedule" in refused.stderr
    # Nothing changed: the deployed crons still run.
    before = run(own_app, "jobs:count", {"kind": "tick"})
    eventually(lambda: run(own_app, "jobs:count", {"kind": "tick"}) > before)


def test_a_job_whose_function_a_deploy_removed_fails_with_a_clear_error(
    own_app: ConvexApp,
) -> None:
    job_id = run(own_app, "jobs:scheduleFailing", {})  # due at once: make a later one
    eventually(lambda: run(own_app, "jobs:job", {"id": job_id})["state"]["kind"] == "failed")
    # Due after the deploy below (a CLI push takes seconds on a loaded machine).
    later = run(own_app, "jobs:scheduleRecord", {"kind": "orphan", "delayMs": 10_000})
    jobs_ts = own_app.dir / "convex" / "jobs.ts"
    source = jobs_ts.read_text()
    # The next deploy renames the scheduled function: the pending job's target is gone.
    jobs_ts.write_text(
        source.replace("export const record = ", "export const recordRenamed = ").replace(
            "internal.jobs.record", "internal.jobs.recordRenamed"
        )
    )
    crons = own_app.dir / "convex" / "crons.ts"
    crons.write_text(
        crons.read_text().replace("internal.jobs.record", "internal.jobs.recordRenamed")
    )
    own_app.deploy()
    state = eventually(
        lambda: (s := run(own_app, "jobs:job", {"id": later})["state"])["kind"] == "failed" and s,
        timeout=40.0,
    )
    assert "Could not find function for 'jobs:record'" in state["error"]
    assert run(own_app, "jobs:count", {"kind": "orphan"}) == 0
