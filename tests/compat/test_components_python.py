"""A Python app that installs JavaScript components: examples/py-components-app declares
@convex-dev/sharded-counter, @convex-dev/rate-limiter and a JS component of its own in
`convex/convex.config.ts`; `bayou deploy` has the official CLI bundle them and pushes them
with the Python modules; the Python functions call them through `components.…`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.apps.clients import DriverClient, npm_client, pypi_client
from tests.compat.apps.conftest import BAYOU
from tests.compat.conftest import ConvexApp, run_cli, start_server

pytestmark = pytest.mark.compat

APP = Path(__file__).parents[2] / "examples" / "py-components-app"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, node: str, js_dir: Path) -> Iterator[ConvexApp]:
    base = tmp_path_factory.mktemp("py-components")
    server = start_server(base / "data")
    try:
        work = base / APP.name
        shutil.copytree(APP, work, ignore=shutil.ignore_patterns("node_modules", "_generated"))
        (work / "node_modules").symlink_to(js_dir / "node_modules")
        out = run_cli("bayou", BAYOU, ["deploy"], cwd=work, server=server)
        assert "Bundled the components" in out.stdout + out.stderr
        yield ConvexApp(work, server, node, js_dir)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(app: ConvexApp) -> Iterator[DriverClient]:
    with pypi_client(app.server.url, "http") as c:
        yield c


def test_python_functions_count_with_the_sharded_counter(client: DriverClient) -> None:
    for _ in range(3):
        client.value("mutation", "counter:visit", {"page": "home"})
    assert client.value("query", "counter:visits", {"page": "home"}) == {"counted": 3, "rows": 3}


def test_the_rate_limiter_refuses_the_fourth_call(client: DriverClient) -> None:
    got = [client.value("mutation", "counter:send", {"user": "ada"}) for _ in range(4)]
    assert got == [True, True, True, False]


def test_a_js_component_of_the_app_keeps_its_own_table(
    app: ConvexApp, client: DriverClient
) -> None:
    client.value("mutation", "counter:add_note", {"text": "from python"})
    assert client.value("query", "counter:notes") == ["from python"]
    listed = app.cli("data", "--component", "notes", "items").stdout
    assert "from python" in listed
    assert "items" not in app.cli("data").stdout.split()  # not the app's table


def test_function_handles_from_python(client: DriverClient) -> None:
    got = client.value("mutation", "counter:handle")
    assert got["handle"].startswith("function://") and got["notes"] == ["from python"]


def test_npm_clients_see_the_same(app: ConvexApp, node: str, js_dir: Path) -> None:
    with npm_client(node, js_dir, app.server.url, "http") as c:
        assert c.value("query", "counter:visits", {"page": "home"})["counted"] == 3


def test_without_the_npm_packages_the_push_says_what_to_install(
    app: ConvexApp, tmp_path: Path
) -> None:
    work = tmp_path / "bare"
    shutil.copytree(APP, work, ignore=shutil.ignore_patterns("node_modules", "_generated"))
    out = run_cli("bayou", BAYOU, ["deploy"], cwd=work, server=app.server, check=False)
    assert out.returncode != 0
    assert "npm install convex" in out.stdout + out.stderr


def test_component_references_type_check_strictly() -> None:
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "convex",
        ],
        cwd=APP,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
