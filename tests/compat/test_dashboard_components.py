"""The dashboard with components (examples/components-app, deployed by the official CLI):
the Data page shows and writes a component's own tables, and the Functions page runs a
component's functions in that component."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.browser import Browser, find_chromium
from tests.compat.conftest import ConvexApp, app_copy, start_server
from tests.compat.test_dashboard import Dashboard
from tests.conftest import IN_CI

pytestmark = pytest.mark.compat

APP = Path(__file__).parents[2] / "examples" / "components-app"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, node: str, js_dir: Path) -> Iterator[ConvexApp]:
    base = tmp_path_factory.mktemp("dashboard-components")
    server = start_server(base / "data")
    try:
        yield app_copy(APP, base, server, node, js_dir).deploy()
    finally:
        server.stop()


def test_a_component_table_and_function_from_the_dashboard(app: ConvexApp, tmp_path: Path) -> None:
    chromium = find_chromium()
    if chromium is None:
        if IN_CI:
            pytest.fail("Chromium is needed for the dashboard tests")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with Browser.start(chromium, tmp_path / "profile") as browser:
        dash = Dashboard(browser.open(app.server.url + "/dashboard"), app.server, tmp_path)
        dash.login(app.server.admin_key)
        dash.go("data")
        dash.wait_exists('#component option[value="notes"]')
        dash.js(
            "(() => { const s = document.getElementById('component'); s.value = 'notes';"
            " s.dispatchEvent(new Event('change')); })()"
        )
        dash.click('[data-table="items"]')
        dash.wait_text("#table-title", lambda text: text == "items")
        dash.click("#add-doc")
        dash.fill("#doc-json", json.dumps({"text": "written in the component"}))
        dash.click("#doc-save")
        dash.wait_text("#grid", lambda text: "written in the component" in text)
        # The app's own tables do not have it.
        assert "notes" not in app.cli("data").stdout.split()

        dash.go("functions")
        dash.click('[data-fn="notes/lib.js:list"]')
        dash.click("#fn-run")
        value = dash.wait_text("#fn-value", lambda text: text != "")
        assert json.loads(value) == ["written in the component"]
        listed = app.cli("run", "--component", "notes", "lib:list").stdout
        assert "written in the component" in listed
