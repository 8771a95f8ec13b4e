"""Upgrades: a data directory written by an earlier release (tests/compat/data_dirs) opens
in this one with its documents, files, environment variables and admin key intact."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import httpx
import pytest

from tests.compat.conftest import start_server

pytestmark = pytest.mark.compat

DATA_DIRS = Path(__file__).parent / "data_dirs"


@pytest.mark.parametrize("name", ["format-1"])
def test_a_data_directory_of_an_earlier_release_opens(name: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIRS / name, data)
    server = start_server(data)
    try:
        headers = {"Authorization": f"Convex {server.admin_key}"}

        def table(name: str) -> list:
            answer = httpx.post(
                f"{server.url}/api/query",
                json={"path": "_system/cli/tableData", "args": {"table": name}, "format": "json"},
                headers=headers,
            ).json()
            return answer["value"]["page"]

        [note] = table("notes")
        assert note["text"] == "written by Bayou 0.1.0" and note["n"] == "1"  # int64 as JSON
        [stored] = table("_storage")
        assert stored["_id"] == note["file"]
        file_uuid = uuid.UUID(bytes=bytes(range(16)))
        response = httpx.get(f"{server.url}/api/storage/{file_uuid}")
        assert response.content == b"a file kept since format 1"
        variables = httpx.get(f"{server.url}/api/list_environment_variables", headers=headers)
        assert variables.json() == {"environmentVariables": {"KEPT": "yes"}}
    finally:
        server.stop()
    log = server.log_tail(100_000)
    assert "executing migration 2/2" in log and "on-disk format up to date at 2" in log
    server.start()  # migrated once: the next start has nothing to do
    server.stop()
    assert server.log_tail(100_000).count("executing migration 2/2") == 1
