"""A killed and restarted server: the official clients reconnect on their own and their
subscriptions are restored (npm `ConvexClient` and the PyPI client)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.compat.conftest import TEST_APP, BayouServer, ConvexApp, start_server
from tests.compat.line_reader import LineReader
from tests.compat.node_client import NodeClient
from tests.compat.pypi_watch import __file__ as PYPI_WATCH

pytestmark = pytest.mark.compat


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BayouServer]:
    server = start_server(tmp_path / "data")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def app(server: BayouServer, node: str, js_dir: Path, tmp_path: Path) -> ConvexApp:
    work = tmp_path / "app"
    shutil.copytree(TEST_APP, work)
    (work / "node_modules").symlink_to(js_dir / "node_modules")
    return ConvexApp(work, server, node, js_dir).deploy()


async def test_clients_reconnect_to_a_restarted_server_with_their_subscriptions(
    app: ConvexApp, server: BayouServer, node: str, js_dir: Path
) -> None:
    app.cli("run", "messages:send", orjson.dumps({"body": "before"}).decode())
    watcher = subprocess.Popen(
        [sys.executable, PYPI_WATCH, server.url, "messages:list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        pypi = LineReader(watcher.stdout)
        pypi.wait_for(lambda line: line.startswith("VALUE") and "before" in line)
        async with NodeClient.start(node, js_dir, server.url) as npm:
            npm.subscribe("list", "messages:list")
            assert await npm.update("list") == ["before"]

            server.kill()
            server.start()
            app.cli("run", "messages:send", orjson.dumps({"body": "after"}).decode())

            await npm.update_until("list", lambda v: v == ["before", "after"], timeout=60)
            pypi.wait_for(lambda line: line.startswith("VALUE") and "after" in line, timeout=60)
            # The restored session still runs mutations.
            await npm.mutation("messages:send", {"body": "again"})
            await npm.update_until("list", lambda v: v == ["before", "after", "again"])
    finally:
        watcher.kill()
        watcher.wait()
