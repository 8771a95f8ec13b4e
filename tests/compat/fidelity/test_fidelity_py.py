"""Convex's behaviour, exactly, for functions written in Python: numbers keep their type
across nested calls, ConvexError messages are worded as the npm package words them, the
deployment's URLs are in `os.environ`, and system tables are read through
`ctx.db.system`. Deployed with `bayou deploy`, called with the npm `ConvexHttpClient`."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.apps.clients import DriverClient, npm_client
from tests.compat.conftest import BayouServer, run_cli, start_server

pytestmark = pytest.mark.compat

APP = Path(__file__).parent / "py_app"
BAYOU = [sys.executable, "-c", "from bayou.cli.main import app; app()"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BayouServer]:
    base = tmp_path_factory.mktemp("fidelity-py")
    server = start_server(base / "data")
    try:
        work = base / "py_app"
        shutil.copytree(APP, work, ignore=shutil.ignore_patterns("__pycache__"))
        run_cli("bayou", BAYOU, ["deploy"], cwd=work, server=server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(server: BayouServer, node: str, js_dir: Path) -> Iterator[DriverClient]:
    with npm_client(node, js_dir, server.url, "http", server.admin_key) as c:
        yield c


def test_an_int_returned_by_a_nested_query_stays_an_int(client: DriverClient) -> None:
    got = client.value("action", "numbers:through_run_query")
    assert got["text"] == "3 notes"
    assert got["types"] == {
        "int": "int",
        "float": "float",
        "whole_float": "float",
        "int64": "Int64",
        "list": ["int", "float"],
    }
    assert got["echoed"] == {"n": "int", "x": "float"}  # arguments keep their types too
    assert client.value("mutation", "numbers:in_mutation") == "3 notes"


def test_python_numbers_reach_javascript_clients_as_numbers(client: DriverClient) -> None:
    assert client.value("query", "numbers:three") == 3


def test_a_nested_convex_error_message_is_worded_as_the_npm_package_words_it(
    client: DriverClient,
) -> None:
    caught = client.value("action", "errors:catch_convex_boom")
    assert caught["code"] == 42
    assert caught["message"].startswith('Uncaught ConvexError: {"code":42,"big":"123n"}')
    out = client.call("action", "errors:call_convex_boom", {})
    assert 'Uncaught ConvexError: Uncaught ConvexError: {"code":42,"big":"123n"}' in out["error"]
    assert out["data"] == {"code": 42, "big": {"$integer": "ewAAAAAAAAA="}}


def test_os_environ_has_the_deployment_urls(server: BayouServer, client: DriverClient) -> None:
    expected = [server.url, server.site_url]
    assert client.value("query", "platform:urls") == expected
    assert client.value("action", "platform:urls_in_action") == expected


def test_db_system_reads_system_tables_and_refuses_user_ids(client: DriverClient) -> None:
    assert client.value("query", "platform:scheduled_count") == 0
    note = client.value("mutation", "platform:insert_note", {"body": "user row"})
    out = client.call("query", "platform:system_get", {"id": note})
    assert "User tables cannot be accessed with db.system." in out["error"]


# -- deferred writes: a failed write raises where Convex raises it -----------------------


def test_a_failed_deferred_write_is_caught_by_the_user_code_that_made_it(
    client: DriverClient,
) -> None:
    caught = client.value("mutation", "writes:catch_failed_patch", {"tag": "py-caught"})
    assert " on nonexistent document ID " in caught, caught
    assert client.value("query", "writes:count_body", {"body": "py-caught-after"}) == 1
    assert client.value("query", "writes:count_body", {"body": "py-caught-gone"}) == 0
    assert client.value("query", "writes:count_body", {"body": "py-caught-patched"}) == 0


def test_a_deferred_write_breaking_the_schema_fails_at_its_line(client: DriverClient) -> None:
    error = client.error("mutation", "writes:bad_patch", {"tag": "py-bad"})
    assert "does not match the schema" in error, error
    source = (APP / "convex" / "writes.py").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if "# the bad patch" in text)
    assert f"line {line}" in error, error  # raised at the write, as on Convex
    for body in ("py-bad-bad", "py-bad-never"):
        assert client.value("query", "writes:count_body", {"body": body}) == 0


def test_deferred_writes_are_read_back_by_their_own_mutation(client: DriverClient) -> None:
    got = client.value("mutation", "writes:patch_and_read", {"tag": "py-read"})
    assert got == {"body": "py-read-2"}
