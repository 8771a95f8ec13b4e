"""Python apps end to end: `bayou init` → `bayou deploy` → an official client calls it; and
the test harness is the real backend: the chat scenario (tests/compat/apps/scenario.py)
through `bayou.testing` gives the transcript it gives against `bayou serve`."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bayou.errors import ConvexError
from bayou.testing import ConvexTest, FunctionError, Harness
from bayou.values import json as vjson
from tests.compat.apps.clients import pypi_client
from tests.compat.apps.scenario import run_scenario
from tests.compat.conftest import BayouServer, run_cli, start_server

pytestmark = pytest.mark.compat

BAYOU = [sys.executable, "-c", "from bayou.cli.main import app; app()"]
PY_APP = Path(__file__).resolve().parents[2] / "examples" / "py-app"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BayouServer]:
    running = start_server(tmp_path_factory.mktemp("first-class") / "data")
    try:
        yield running
    finally:
        running.stop()


def test_init_then_deploy_then_a_client_call(tmp_path: Path, server: BayouServer) -> None:
    created = run_cli("bayou", BAYOU, ["init", "tasks-app"], cwd=tmp_path, server=server)
    assert "Created a Python app" in created.stdout
    app = tmp_path / "tasks-app"
    deployed = run_cli("bayou", BAYOU, ["deploy"], cwd=app, server=server)
    assert "Deployed 3 functions" in deployed.stdout
    assert "tasks:import_from" in deployed.stdout
    with pypi_client(server.url, "http") as client:
        added = client.call("mutation", "tasks:add", {"text": "  Hello from Python  "})
        assert isinstance(added.get("value"), str), added
        listed = client.call("query", "tasks:list", {})
        assert [t["text"] for t in listed["value"]] == ["Hello from Python"]
        refused = client.call("mutation", "tasks:add", {"text": " "})
        assert refused.get("data") == {"code": "EMPTY_TASK"}


class HarnessClient:
    """`bayou.testing` behind the scenario's client interface: Convex JSON in and out, called
    as a client calls (public functions only, no identity)."""

    def __init__(self, convex: ConvexTest) -> None:
        self.convex = convex.as_client()

    def call(self, kind: str, path: str, args: dict[str, Any]) -> dict[str, Any]:
        method = getattr(self.convex, kind)
        try:
            value = method(path, vjson.from_json(args))
        except ConvexError as error:
            return {"error": str(error), "data": vjson.to_json(error.data)}
        except FunctionError as error:
            return {"error": f"[Request ID: harness] Server Error\n{error.message}"}
        return {"value": vjson.to_json(value)}


def test_the_chat_scenario_gives_the_same_transcript_on_the_harness_and_a_server(
    tmp_path: Path, server: BayouServer
) -> None:
    app = tmp_path / "py-app"
    shutil.copytree(PY_APP, app, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    run_cli("bayou", BAYOU, ["deploy"], cwd=app, server=server)
    with pypi_client(server.url, "http") as client:
        on_server = run_scenario(client, "same")  # type: ignore[arg-type]
    with Harness() as harness:
        on_harness = run_scenario(HarnessClient(harness.open(app / "convex")), "same")  # type: ignore[arg-type]
    assert len(on_harness) > 50
    differing = {k for k in on_server if on_server[k] != on_harness.get(k)}
    assert not differing, {k: (on_server[k], on_harness.get(k)) for k in sorted(differing)}
    assert on_harness == on_server
