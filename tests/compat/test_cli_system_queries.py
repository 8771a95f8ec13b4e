"""CLI commands that read the deployment through the sync protocol and `_system/cli/*`
queries (ops-surface.md §3.1): `env list`, `env get`, `data`, `function-spec`. These need
no deployed code, so they run against a bare server."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from tests.compat.conftest import TEST_APP, BayouServer, ConvexApp

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def bare_app(
    bayou_server: BayouServer, node: str, js_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> ConvexApp:
    """The test app's folder (for the CLI's project config), not deployed."""
    work = tmp_path_factory.mktemp("bare") / "app"
    shutil.copytree(TEST_APP, work)
    (work / "node_modules").symlink_to(js_dir / "node_modules")
    return ConvexApp(work, bayou_server, node, js_dir)


def test_env_list_and_get_read_the_variables(bare_app: ConvexApp) -> None:
    assert "No environment variables set" in bare_app.cli("env", "list").stderr
    bare_app.cli("env", "set", "GREETING_NAME", "Ada")
    bare_app.cli("env", "set", "API_URL", "https://example.test/x?y=1")
    listed = bare_app.cli("env", "list").stdout.splitlines()
    names = [line.split("=", 1)[0] for line in listed]
    assert names == ["API_URL", "GREETING_NAME"]
    if "=" in listed[0]:  # values are hidden when the CLI thinks an AI agent runs it
        assert listed == ["API_URL=https://example.test/x?y=1", "GREETING_NAME=Ada"]
    assert bare_app.cli("env", "get", "GREETING_NAME").stdout == "Ada\n"
    missing = bare_app.cli("env", "get", "NOT_SET", check=False)
    assert 'Environment variable "NOT_SET" not found' in missing.stderr
    bare_app.cli("env", "remove", "API_URL")
    assert bare_app.cli("env", "get", "API_URL", check=False).stdout == ""


def test_data_reports_an_empty_database(bare_app: ConvexApp) -> None:
    assert "There are no tables in the database." in bare_app.cli("data").stderr


def test_function_spec_of_an_empty_deployment(bare_app: ConvexApp) -> None:
    spec = orjson.loads(bare_app.cli("function-spec").stdout)
    assert spec == {"url": bare_app.server.url, "functions": []}
