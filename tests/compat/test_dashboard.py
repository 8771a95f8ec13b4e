"""The dashboard at `/dashboard`, driven in headless Chromium against a real `bayou serve`
with an app deployed by the official CLI, and checked against the official clients:
edits made in the page are read by the npm `ConvexHttpClient` and `npx convex env get`,
writes made by a client appear in the page, and a read-only key gets a page without a
write control and a server that refuses forged writes. Each page's screenshot is saved
in $BAYOU_SCREENSHOTS_DIR, else in a temporary directory (its path is printed: `-s`)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat.apps.clients import npm_client
from tests.compat.browser import Browser, Page, find_chromium
from tests.compat.conftest import (
    _BAYOU,
    TEST_APP,
    BayouServer,
    ConvexApp,
    app_copy,
    start_server,
)
from tests.conftest import IN_CI

pytestmark = pytest.mark.compat

# A module added to the test app: a mutation that schedules a job an hour away.
SCHEDULING_MODULE = """
import { makeFunctionReference } from "convex/server";
import { v } from "convex/values";
import { mutation } from "./_generated/server";

export const later = mutation({
  args: { body: v.string() },
  handler: async (ctx, { body }) =>
    await ctx.scheduler.runAfter(3_600_000, makeFunctionReference<"mutation">("messages:send"), { body }),
});
"""
CRONS_MODULE = """
import { cronJobs, makeFunctionReference } from "convex/server";

const crons = cronJobs();
crons.interval("hourly rank", { hours: 1 }, makeFunctionReference<"mutation">("messages:rank"), {
  rank: 0,
});
export default crons;
"""
HOSTILE = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        if IN_CI:
            pytest.fail("Chromium is needed for the dashboard tests (scripts/test installs it)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BayouServer]:
    server = start_server(tmp_path_factory.mktemp("dashboard") / "data")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def app(
    server: BayouServer, node: str, js_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> ConvexApp:
    work = app_copy(TEST_APP, tmp_path_factory.mktemp("app"), server, node, js_dir)
    (work.dir / "convex" / "dash.ts").write_text(SCHEDULING_MODULE)
    (work.dir / "convex" / "crons.ts").write_text(CRONS_MODULE)
    return work.deploy()


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $BAYOU_SCREENSHOTS_DIR (for CI to keep), else a temporary dir."""
    chosen = os.environ.get("BAYOU_SCREENSHOTS_DIR")
    out = Path(chosen) if chosen else tmp_path_factory.mktemp("dashboard-screenshots")
    out.mkdir(parents=True, exist_ok=True)
    print(f"\ndashboard screenshots: {out}")
    return out


@pytest.fixture(scope="module")
def read_only_key(server: BayouServer) -> str:
    out = subprocess.run(
        [*_BAYOU, "admin-key", "--read-only", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip().splitlines()[-1]


class Dashboard:
    """The page, with the few gestures the tests need."""

    def __init__(self, page: Page, server: BayouServer, screens: Path) -> None:
        self.page = page
        self.server = server
        self.screens = screens

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def click(self, selector: str) -> None:
        self.wait_exists(selector)
        found = self.js(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            " if (!el) return false; el.click(); return true; })()"
        )
        assert found, f"nothing matches {selector}"

    def fill(self, selector: str, value: str) -> None:
        self.js(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            f" el.value = {json.dumps(value)}; el.dispatchEvent(new Event('input')); }})()"
        )

    def text(self, selector: str) -> str:
        return self.js(f"document.querySelector({json.dumps(selector)})?.innerText ?? ''")

    def wait_text(self, selector: str, predicate: Any, timeout: float = 15.0) -> str:
        return self.page.wait_for(
            f"document.querySelector({json.dumps(selector)})?.innerText ?? ''", predicate, timeout
        )

    def wait_exists(self, selector: str, timeout: float = 15.0) -> None:
        self.page.wait_for(
            f"document.querySelector({json.dumps(selector)}) !== null", bool, timeout
        )

    def go(self, page: str) -> None:
        self.js(f"location.hash = '#/{page}'")
        self.page.wait_for(
            "document.querySelector('header nav a[aria-current=page]')?.dataset.page",
            lambda name: name == page,
        )

    def login(self, key: str) -> None:
        self.wait_exists("#admin-key")
        self.fill("#admin-key", key)
        self.click("#login")
        self.wait_exists("#logout")
        self.js("window.confirm = () => true")  # the tests accept every confirmation

    def logout(self) -> None:
        self.click("#logout")
        self.wait_exists("#admin-key")

    def screenshot(self, name: str) -> Path:
        shot = self.page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path = self.screens / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def choose_file(self, selector: str, path: Path) -> None:
        document = self.page.call("DOM.getDocument")
        node = self.page.call(
            "DOM.querySelector", nodeId=document["root"]["nodeId"], selector=selector
        )
        self.page.call("DOM.setFileInputFiles", files=[str(path)], nodeId=node["nodeId"])


@pytest.fixture(scope="module")
def dash(
    chromium: str,
    server: BayouServer,
    app: ConvexApp,
    screens: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Dashboard]:
    with Browser.start(chromium, tmp_path_factory.mktemp("profile")) as browser:
        page = browser.open(server.url + "/dashboard")
        page.call(
            "Emulation.setDeviceMetricsOverride",
            width=1280,
            height=720,
            deviceScaleFactor=1,
            mobile=False,
        )
        yield Dashboard(page, server, screens)


def _post(server: BayouServer, path: str, body: Any, key: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Convex {key}"
    request = urllib.request.Request(
        server.url + path, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


# -- the tests, in the order a user meets the pages ----------------------------------------


def test_serve_prints_the_dashboard_url_and_bayou_dashboard_names_it(
    server: BayouServer,
) -> None:
    assert f"Dashboard:                   {server.url}/dashboard" in server.log_tail()
    out = subprocess.run(
        [*_BAYOU, "dashboard", "--no-open", "--url", server.url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == f"{server.url}/dashboard"


def test_a_wrong_key_is_refused_with_a_clear_message(dash: Dashboard) -> None:
    dash.wait_exists("#admin-key")
    dash.screenshot("login")
    dash.fill("#admin-key", "convex-self-hosted|0123456789abcdef")
    dash.click("#login")
    message = dash.wait_text("#login-error", lambda text: text != "")
    assert "refused" in message and "bayou admin-key" in message
    assert dash.js("document.querySelector('#logout')") is None


def test_browse_a_table_and_edit_a_document_a_client_reads(
    dash: Dashboard, server: BayouServer, node: str, js_dir: Path
) -> None:
    with npm_client(node, js_dir, server.url, "http") as client:
        first = client.value("mutation", "messages:send", {"body": "first"})
        client.value("mutation", "messages:send", {"body": HOSTILE})
        dash.login(server.admin_key)
        dash.go("data")
        dash.click('[data-table="messages"]')
        dash.wait_exists(f'#grid tr[data-id="{first}"]')
        grid = dash.wait_text("#grid", lambda text: "first" in text and "<script>" in text)
        # Hostile content is text: no element was made from it, nothing ran.
        assert HOSTILE in grid
        assert dash.js("document.querySelectorAll('#grid script, #grid img').length") == 0
        assert dash.js("window.__xss") is None
        count = dash.text('[data-table="messages"] .count')
        assert count == "2"
        dash.screenshot("data")

        # Edit in the page; the npm client reads the change.
        dash.click(f'#grid tr[data-id="{first}"]')
        dash.wait_exists("#doc-json")
        dash.fill("#doc-json", json.dumps({"body": "edited in the dashboard"}))
        dash.click("#doc-save")
        dash.wait_text("#grid", lambda text: "edited in the dashboard" in text)
        bodies = client.value("query", "messages:list")
        assert "edited in the dashboard" in bodies and "first" not in bodies

        # An edit the schema refuses: the error is shown, nothing is written.
        dash.click(f'#grid tr[data-id="{first}"]')
        dash.wait_exists("#doc-json")
        dash.fill("#doc-json", json.dumps({"body": 42}))
        dash.click("#doc-save")
        error = dash.wait_text("#doc-error", lambda text: text != "")
        assert "schema" in error.lower()
        dash.screenshot("data-schema-error")
        assert "edited in the dashboard" in client.value("query", "messages:list")
        dash.click("#doc-close")

        # A client writes; the grid shows it without a reload.
        client.value("mutation", "messages:send", {"body": "sent by the npm client"})
        dash.wait_text("#grid", lambda text: "sent by the npm client" in text, timeout=5)
        dash.wait_text('[data-table="messages"] .count', lambda text: text == "3", timeout=10)

        # Add one in the page; the client reads it.
        dash.click("#add-doc")
        dash.wait_exists("#doc-json")
        dash.fill("#doc-json", json.dumps({"body": "added in the dashboard"}))
        dash.click("#doc-save")
        dash.wait_text("#grid", lambda text: "added in the dashboard" in text)
        assert "added in the dashboard" in client.value("query", "messages:list")


def test_sort_by_an_index_and_read_a_range_of_it(
    dash: Dashboard, server: BayouServer, node: str, js_dir: Path
) -> None:
    with npm_client(node, js_dir, server.url, "http") as client:
        for rank in (30.0, 10.0, 20.0):
            client.value("mutation", "messages:rank", {"rank": rank})
    dash.go("data")
    dash.click('[data-table="ranked"]')
    dash.wait_text("#table-title", lambda text: text == "ranked")
    dash.page.wait_for(
        "[...document.querySelectorAll('#sort-index option')].map(o => o.value)",
        lambda values: "by_rank" in values,
    )
    dash.js(
        "(() => { const s = document.getElementById('sort-index'); s.value = 'by_rank';"
        " s.dispatchEvent(new Event('change')); })()"
    )
    dash.click("#order")  # oldest first: ascending rank
    ranks = "[...document.querySelectorAll('#grid tbody tr[data-id]')].map(r => r.children[2].innerText)"
    dash.page.wait_for(ranks, lambda shown: shown[-3:] == ["10", "20", "30"])
    dash.fill("#filter-field", "rank")
    dash.js("document.getElementById('filter-op').value = '$gte'")
    dash.fill("#filter-value", "20")
    dash.click("#filter-apply")
    dash.page.wait_for(ranks, lambda shown: shown == ["20", "30"])
    assert dash.text("#filter-mode") == "index range"
    dash.screenshot("data-index-range")


def test_run_a_function_and_see_its_log_line(dash: Dashboard) -> None:
    dash.go("functions")
    dash.wait_exists('[data-fn="messages.js:send"]')
    dash.click('[data-fn="messages.js:send"]')
    dash.wait_exists("#fn-args")
    dash.fill("#fn-args", json.dumps({"body": "run from the functions page"}))
    dash.click("#fn-run")
    value = dash.wait_text("#fn-value", lambda text: text != "")
    assert json.loads(value)  # the new document's id
    assert "sending" in dash.wait_text("#fn-logs", lambda text: text != "")
    dash.screenshot("functions")

    dash.go("logs")
    dash.fill("#log-function", "messages:send")
    logs = dash.wait_text("#logs", lambda text: "run from the functions page" in text)
    assert "messages:send" in logs
    dash.screenshot("logs")


def test_set_an_env_var_that_npx_convex_env_get_returns(dash: Dashboard, app: ConvexApp) -> None:
    dash.go("env")
    dash.wait_exists("#env-name")
    dash.fill("#env-name", "DASHBOARD_SET")
    dash.fill("#env-value", "from the browser")
    dash.click("#env-set")
    dash.wait_exists('[data-env="DASHBOARD_SET"]')
    # Hidden until revealed.
    assert "from the browser" not in dash.text("#env")
    dash.click('[data-reveal="DASHBOARD_SET"]')
    dash.wait_text("#env", lambda text: "from the browser" in text)
    dash.screenshot("environment")
    assert app.cli("env", "get", "DASHBOARD_SET").stdout.strip() == "from the browser"


def test_cancel_a_scheduled_job(dash: Dashboard, server: BayouServer, app: ConvexApp) -> None:
    app.cli("run", "dash:later", '{"body": "in an hour"}')
    dash.go("schedules")
    dash.wait_exists('#jobs tr[data-state="pending"] [data-cancel]')
    job = dash.js("document.querySelector('#jobs tr[data-state=\"pending\"]').dataset.job")
    crons = dash.wait_text("#crons", lambda text: "hourly rank" in text)
    assert "messages:rank" in crons and "success" in crons  # an interval cron runs at once
    dash.screenshot("schedules")
    dash.click(f'[data-cancel="{job}"]')
    dash.wait_exists(f'#jobs tr[data-job="{job}"][data-state="canceled"]')
    # The official CLI reads the same table.
    listed = app.cli("data", "_scheduled_functions").stdout
    assert job in listed and "canceled" in listed


def test_upload_download_and_delete_a_file(dash: Dashboard, tmp_path: Path, app: ConvexApp) -> None:
    picture = tmp_path / "note.txt"
    picture.write_text("a file from the dashboard")
    dash.go("files")
    dash.wait_exists("#file-input")
    dash.choose_file("#file-input", picture)
    dash.click("#file-upload")
    dash.wait_exists("#files [data-file]")
    file_id = dash.js("document.querySelector('#files [data-file]').dataset.file")
    href = dash.js(f"document.querySelector('[data-download=\"{file_id}\"]').href")
    with urllib.request.urlopen(href, timeout=30) as response:
        assert response.read() == b"a file from the dashboard"
    dash.screenshot("files")
    dash.click(f'[data-delete="{file_id}"]')
    dash.wait_text("#files", lambda text: "No files stored" in text)


def test_back_up_now_and_download_it(dash: Dashboard) -> None:
    dash.go("backups")
    dash.wait_exists("#backup-now")
    dash.click("#backup-now")
    dash.wait_text("#backup-status", lambda text: text.startswith("Backup written"), timeout=60)
    dash.wait_exists("#backups [data-download]")
    dash.click("#backups [data-download]")
    dash.wait_text("#backup-status", lambda text: text.startswith("Downloaded backup-"))

    # A snapshot export with its files, then its download.
    dash.js("document.getElementById('export-files').checked = true")
    dash.click("#export-now")
    dash.wait_exists("#export-download", timeout=60)
    dash.click("#export-download")
    dash.wait_text("#export-status", lambda text: text.startswith("Downloaded snapshot-"))
    dash.screenshot("backups")


def test_import_a_table_and_see_a_bad_line_named(
    dash: Dashboard, tmp_path: Path, app: ConvexApp
) -> None:
    good = tmp_path / "imported.jsonl"
    good.write_text('{"title": "one"}\n{"title": "two"}\n')
    dash.go("backups")
    dash.wait_exists("#import-file")
    dash.choose_file("#import-file", good)
    dash.fill("#import-table", "imported")
    dash.click("#import-start")
    dash.wait_text("#import-status", lambda text: "Import completed: 2 rows" in text, timeout=60)
    assert "two" in app.cli("data", "imported").stdout

    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"title": "fine"}\n{"title": \n')
    dash.choose_file("#import-file", bad)
    dash.fill("#import-table", "broken")
    dash.click("#import-start")
    error = dash.wait_text("#import-status", lambda text: "failed" in text.lower(), timeout=60)
    assert "2" in error  # the line that failed
    dash.screenshot("import-error")


def test_the_grid_renders_only_the_rows_in_view_and_the_keyboard_walks_it(
    dash: Dashboard, server: BayouServer
) -> None:
    for i in range(450):
        status, _ = _post(
            server,
            "/api/dashboard/documents/insert",
            {"table": "scroll", "document": {"n": i}},
            server.admin_key,
        )
        assert status == 200
    dash.go("data")
    dash.click('[data-table="scroll"]')
    dash.wait_text("#table-summary", lambda text: text == "450 documents")
    dash.click("#order")  # oldest first: n ascending
    rows = "document.querySelectorAll('#grid tbody tr[data-id]').length"
    dash.page.wait_for(rows, lambda n: n > 0)
    assert dash.js(rows) < 80  # the rows in view, not the table
    # Scroll to the end: pages are fetched as it scrolls, the DOM stays small.
    last_n = (
        "[...document.querySelectorAll('#grid tbody tr[data-id]')]"
        ".map(r => Number(r.children[2].innerText)).pop() ?? -1"
    )
    for _ in range(60):
        dash.js(
            "(() => { const g = document.getElementById('grid-wrap'); g.scrollTop = g.scrollHeight; })()"
        )
        if dash.page.wait_for(last_n, lambda n: n >= 0) == 449:
            break
        time.sleep(0.1)  # let the next page arrive before scrolling again
    assert dash.page.wait_for(last_n, lambda n: n == 449)
    assert dash.js(rows) < 80
    dash.screenshot("data-scrolled")

    # Keyboard: focus the first row, walk down, open with Enter.
    dash.js("(() => { const g = document.getElementById('grid-wrap'); g.scrollTop = 0; })()")
    dash.page.wait_for(
        "document.querySelector('#grid tbody tr[data-row=\"0\"][data-id]') !== null", bool
    )
    dash.js("document.querySelector('#grid tbody tr[data-row=\"0\"]').focus()")
    for key in ["ArrowDown", "ArrowDown", "PageDown", "ArrowUp"]:
        dash.page.call("Input.dispatchKeyEvent", type="rawKeyDown", key=key, code=key)
        dash.page.call("Input.dispatchKeyEvent", type="keyUp", key=key, code=key)
    focused = dash.page.wait_for("document.activeElement?.dataset?.row ?? ''", lambda r: r != "")
    assert int(focused) > 2
    n = dash.js("document.activeElement.children[2].innerText")
    dash.page.call("Input.dispatchKeyEvent", type="rawKeyDown", key="Enter", code="Enter")
    dash.page.call("Input.dispatchKeyEvent", type="keyUp", key="Enter", code="Enter")
    dash.wait_text("#doc-json", lambda text: True)
    assert json.loads(dash.js("document.getElementById('doc-json').value"))["n"] == int(n)
    dash.click("#doc-close")


def test_clear_and_delete_a_table_after_typing_its_name(
    dash: Dashboard, server: BayouServer, app: ConvexApp
) -> None:
    dash.go("data")
    dash.click('[data-table="scroll"]')
    dash.wait_text("#table-title", lambda text: text == "scroll")
    dash.click("#clear-table")
    dash.wait_exists("#clear-dialog")
    assert dash.js("document.getElementById('clear-dialog-confirm').disabled") is True
    dash.fill("#clear-dialog-input", "scrol")  # not the name: still disabled
    assert dash.js("document.getElementById('clear-dialog-confirm').disabled") is True
    dash.fill("#clear-dialog-input", "scroll")
    dash.screenshot("data-clear-dialog")
    dash.click("#clear-dialog-confirm")
    dash.wait_text("#empty", lambda text: "empty" in text)
    dash.wait_text('[data-table="scroll"] .count', lambda text: text == "0")
    assert dash.js("document.getElementById('clear-dialog')") is None

    # A table the schema declares: refused, with Convex's words; nothing deleted.
    dash.click('[data-table="messages"]')
    dash.wait_text("#table-title", lambda text: text == "messages")
    dash.click("#delete-table")
    dash.fill("#delete-dialog-input", "messages")
    dash.click("#delete-dialog-confirm")
    error = dash.wait_text("#delete-dialog-status", lambda text: "schema" in text)
    assert 'Failed to delete table "messages" because it appears in the schema' in error
    dash.screenshot("data-delete-refused")
    dash.click("#delete-dialog-cancel")
    assert "messages" in app.cli("data").stdout

    # A table the schema does not declare goes, and leaves the list at once.
    dash.click('[data-table="scroll"]')
    dash.wait_text("#table-title", lambda text: text == "scroll")
    dash.click("#delete-table")
    dash.fill("#delete-dialog-input", "scroll")
    dash.click("#delete-dialog-confirm")
    dash.page.wait_for("document.querySelector('[data-table=\"scroll\"]') === null", bool)
    assert "scroll" not in app.cli("data").stdout.split()


def test_the_page_reconnects_after_a_server_restart_and_stays_live(
    dash: Dashboard, server: BayouServer, node: str, js_dir: Path
) -> None:
    dash.go("data")
    dash.click('[data-table="messages"]')
    dash.wait_text("#conn", lambda text: text == "live")
    server.stop()
    dash.wait_text("#conn", lambda text: "reconnecting" in text)
    server.start()
    dash.wait_text("#conn", lambda text: text == "live", timeout=30)
    dash.wait_exists("#grid tbody tr[data-id]")
    # A change made elsewhere after the restart reaches the open page, without a reload.
    with npm_client(node, js_dir, server.url, "http") as client:
        client.value("mutation", "messages:send", {"body": "after the restart"})
    dash.wait_text("#grid", lambda text: "after the restart" in text, timeout=10)


def test_health_shows_the_deployment(dash: Dashboard, server: BayouServer) -> None:
    dash.go("health")
    info = dash.wait_text("#health-info", lambda text: "SQLite" in text)
    assert server.url in info
    dash.wait_text("#health-ready", lambda text: "Ready: yes" in text)
    # The charts come from the server's history: full as soon as the page opens.
    dash.wait_text('[data-chart="Function calls / s"] .figure', lambda text: text not in ("", "—"))
    spark = "document.querySelectorAll('[data-chart=\"Commits / s\"] .spark span').length"
    assert dash.page.wait_for(spark, lambda n: n >= 1)
    # /metrics is a fetch of its own: its counters may render after the charts.
    metrics = "document.getElementById('health-metrics').textContent"
    assert dash.page.wait_for(metrics, lambda text: "bayou_commits_total" in text)
    # `bayou doctor`'s server-side checks.
    doctor = dash.wait_text("#health-doctor", lambda text: "files" in text)
    assert "database" in doctor and "every file has its blob" in doctor
    assert dash.js("document.querySelector('[data-check=\"database\"]').dataset.ok") == "true"
    dash.screenshot("health")
    dash.page.call(
        "Emulation.setDeviceMetricsOverride",
        width=390,
        height=844,
        deviceScaleFactor=1,
        mobile=True,
    )
    dash.go("data")
    dash.wait_exists("#grid")
    dash.screenshot("data-phone")
    dash.page.call(
        "Emulation.setDeviceMetricsOverride",
        width=1280,
        height=720,
        deviceScaleFactor=1,
        mobile=False,
    )


def test_a_read_only_key_sees_no_write_control_and_forged_writes_are_refused(
    dash: Dashboard, server: BayouServer, read_only_key: str
) -> None:
    dash.logout()
    dash.login(read_only_key)
    dash.wait_exists("#read-only")
    for page in ("data", "functions", "schedules", "files", "env", "backups"):
        dash.go(page)
        if page == "functions":  # its write control is the Run button of a mutation
            dash.wait_exists('[data-fn="messages.js:send"]')
            dash.click('[data-fn="messages.js:send"]')
        dash.page.wait_for("document.querySelectorAll('[data-write]').length", lambda n: n > 0)
        enabled = dash.js(
            "[...document.querySelectorAll('[data-write]')].filter(e => !e.disabled).length"
        )
        assert enabled == 0, page
    dash.go("data")
    dash.click('[data-table="messages"]')
    dash.wait_exists("#grid tbody tr")
    dash.screenshot("read-only")

    # The page's own fetch, forged with the read-only key: refused by the server.
    forged = dash.page.call(
        "Runtime.evaluate",
        expression="""fetch('/api/dashboard/documents/insert', {method: 'POST',
            headers: {'Content-Type': 'application/json',
                      Authorization: 'Convex ' + sessionStorage.getItem('bayou.dashboard.adminKey')},
            body: JSON.stringify({table: 'messages', document: {body: 'forged'}})})
            .then(r => r.status)""",
        awaitPromise=True,
        returnByValue=True,
    )
    assert forged["result"]["value"] == 403
    for path, body in [
        ("/api/dashboard/documents/insert", {"table": "messages", "document": {"body": "x"}}),
        ("/api/dashboard/schedules/cancel", {"all": True}),
        ("/api/dashboard/files/upload_url", {}),
        ("/api/dashboard/tables/clear", {"table": "messages"}),
        ("/api/dashboard/tables/delete", {"tableNames": ["imported"]}),
        ("/api/update_environment_variables", {"changes": [{"name": "X", "value": "1"}]}),
    ]:
        status, _ = _post(server, path, body, read_only_key)
        assert status == 403, path
        # No key at all (a cross-site form cannot add the header): refused as well.
        status, _ = _post(server, path, body, None)
        assert status == 403, path
    dash.logout()


def test_the_page_loads_nothing_from_elsewhere(server: BayouServer) -> None:
    with urllib.request.urlopen(server.url + "/dashboard", timeout=30) as response:
        csp = response.headers["content-security-policy"]
        html = response.read().decode()
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "http://" not in html and "https://" not in html
