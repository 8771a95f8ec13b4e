"""Server logs of a real `bayou serve`: with `LOG_FORMAT=json` every line it writes on
stdout and stderr — the start banner, uvicorn's, the deploy line, the access log, the
stop — is one JSON object; in both formats each HTTP request has an access line with its
method, path (never the query string), status, duration and request id."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.compat.conftest import BayouServer, app_copy, start_server

pytestmark = pytest.mark.compat

APP = Path(__file__).parent / "snapshots_app"


def _lines(server: BayouServer) -> list[str]:
    # The fixture marks each start in the log file with its own line.
    text = server.log_path.read_text()
    return [line for line in text.splitlines() if not line.startswith("--- bayou serve on")]


def test_json_logs_are_one_object_a_line(tmp_path: Path, node: str, js_dir: Path) -> None:
    server = start_server(tmp_path / "data", env={"LOG_FORMAT": "json"})
    try:
        app = app_copy(APP, tmp_path, server, node, js_dir).deploy()
        app.cli("run", "data:seed")
        response = httpx.get(f"{server.url}/version?token=secret-value")
        given = httpx.get(f"{server.url}/version", headers={"X-Request-Id": "proxy-id-1"})
        httpx.post(f"{server.site_url}/no-such-action")
    finally:
        server.stop()
    lines = _lines(server)
    records = [json.loads(line) for line in lines]  # every line parses
    assert all(isinstance(r, dict) and {"level", "logger", "msg"} <= set(r) for r in records)
    [banner] = [r for r in records if r.get("event") == "started"]
    assert banner["api_origin"] == server.url and "admin_key_command" in banner
    assert any("deployed" in r["msg"] for r in records if r["logger"] == "bayou.deploy.push")
    access = [r for r in records if r["logger"] == "bayou.access"]
    [version] = [r for r in access if r["request_id"] == response.headers["x-request-id"]]
    assert version["method"] == "GET" and version["path"] == "/version"
    assert version["status"] == 200 and version["duration_ms"] >= 0
    assert not any("secret-value" in line for line in lines)
    assert any(r["request_id"] == "proxy-id-1" for r in access)
    assert given.headers["x-request-id"] == "proxy-id-1"
    assert any(r["path"] == "/no-such-action" and r["status"] == 404 for r in access)
    assert any(r["path"] == "/api/deploy2/start_push" for r in access)  # the CLI's requests


def test_text_logs_have_an_access_line_per_request(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        response = httpx.get(f"{server.url}/version?token=secret-value")
    finally:
        server.stop()
    text = "\n".join(_lines(server))
    rid = response.headers["x-request-id"]
    [line] = [line for line in text.splitlines() if f"req={rid}" in line]
    assert " INFO bayou.access: GET /version 200 " in line and "ms req=" in line
    assert "secret-value" not in text
    assert "Bayou is running" in text  # the banner stays readable text


def test_a_failed_start_is_a_json_line_too(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "bayou.cli", "serve", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "LOG_FORMAT": "json", "LOG_LEVEL": "loud"},
        timeout=60,
    )
    assert out.returncode != 0
    lines = [json.loads(line) for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert lines and lines[-1]["level"] == "error" and "LOG_LEVEL" in lines[-1]["msg"]
