"""The first hour of a new user (issue 9 §3), with real `bayou serve` processes and the
official CLI: the README's commands run from a Convex app's folder, the banner's lines
work anywhere, one server per PostgreSQL database, the status endpoint needs a key, and
the server log says which calls failed."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.compat.conftest import TEST_APP, BayouServer, free_port, start_server
from tests.node_tools import tools_dir

pytestmark = pytest.mark.compat

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The XDG_STATE_HOME of this test's servers and commands (no one else's records)."""
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def server(tmp_path: Path, state: Path) -> Iterator[BayouServer]:
    env = {"XDG_STATE_HOME": str(state), "PATH": _path(with_bayou=False)}
    server = start_server(tmp_path / "bayou-checkout" / "bayou-data", env=env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def app(tmp_path: Path, js_dir: Path) -> Path:
    """A Convex app's folder, elsewhere than the server's: the user's project."""
    work = tmp_path / "my-app"
    shutil.copytree(TEST_APP, work, ignore=shutil.ignore_patterns("node_modules", "_generated"))
    (work / "node_modules").symlink_to(js_dir / "node_modules")
    return work


def _path(*, with_bayou: bool) -> str:
    """PATH with the suite's node/npm/npx first; with this virtualenv's `bayou` or not
    (the virtualenv's bin may hold both, so node alone is linked into a directory of its
    own)."""
    parts = [p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != VENV_BIN]
    node_only = Path(tempfile.gettempdir()) / f"bayou-first-hour-node-{os.getuid()}"
    node_only.mkdir(exist_ok=True)
    for tool in ("node", "npm", "npx"):
        found = shutil.which(tool, path=os.pathsep.join([str(tools_dir()), str(VENV_BIN)]))
        assert found is not None, f"no {tool} for the official CLI"
        link = node_only / tool
        if link.is_symlink() or link.exists():
            link.unlink()  # a link left by an earlier run may name another Node
        link.symlink_to(found)
    first = [str(VENV_BIN)] if with_bayou else []
    return os.pathsep.join([*first, str(node_only), *parts])


def _shell(script: str, *, cwd: Path, state: Path, with_bayou: bool) -> subprocess.CompletedProcess:
    """Run shell lines as a user types them: a clean environment, no deployment set."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONVEX_", "BAYOU_")) and k not in ("DATA_DIR", "INSTANCE_SECRET")
    }
    env.update({"PATH": _path(with_bayou=with_bayou), "XDG_STATE_HOME": str(state), "CI": "1"})
    assert shutil.which("bayou", path=env["PATH"]) is None or with_bayou
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _readme_block(after: str) -> str:
    """The first ```sh block after the line containing `after` in the README."""
    text = README.read_text()
    start = text.index(after)
    match = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert match is not None, f"no sh block after {after!r} in the README"
    return match.group(1)


def test_the_readme_commands_work_from_the_apps_folder(
    server: BayouServer, app: Path, state: Path
) -> None:
    block = _readme_block("Then, in your\nConvex app's folder:")
    assert "export CONVEX_SELF_HOSTED_ADMIN_KEY=$(bayou admin-key)" in block
    # The one change: the port this test's server listens on instead of 3210.
    script = block.replace("127.0.0.1:3210", f"127.0.0.1:{server.port}")
    result = _shell(script, cwd=app, state=state, with_bayou=True)
    assert result.returncode == 0, result.stdout + result.stderr + server.log_tail()
    assert "[]" in result.stdout  # `npx convex run messages:list` on a fresh deployment
    assert not (app / "bayou-data").exists()


def test_the_banner_lines_work_from_any_folder(server: BayouServer, app: Path, state: Path) -> None:
    banner = server.log_tail()
    lines = [line.strip() for line in banner.splitlines() if line.strip().startswith("export ")]
    assert len(lines) == 2, banner
    assert str(VENV_BIN / "bayou") in lines[1]  # `bayou` is not on this PATH: its full path
    script = "\n".join([*lines, "npx convex deploy", "npx convex run messages:list"])
    result = _shell(script, cwd=app, state=state, with_bayou=False)
    assert result.returncode == 0, result.stdout + result.stderr + server.log_tail()
    assert "[]" in result.stdout


def test_from_the_wrong_folder_admin_key_fails_loudly_and_creates_nothing(
    server: BayouServer, tmp_path: Path, state: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Two servers and no URL: it cannot know which one is meant, and says how to choose.
    other = start_server(tmp_path / "other" / "data", env={"XDG_STATE_HOME": str(state)})
    try:
        result = _shell("bayou admin-key", cwd=elsewhere, state=state, with_bayou=True)
    finally:
        other.stop()
    assert result.returncode == 1 and result.stdout == ""
    assert f"bayou admin-key --url {server.url}" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_the_status_endpoint_needs_an_admin_key(server: BayouServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(server.url + "/api/bayou/status", timeout=10)
    assert refused.value.code in (401, 403)
    body = refused.value.read().decode()
    assert "admin key" in body and "sqlite" not in body.lower()
    request = urllib.request.Request(
        server.url + "/api/bayou/status", headers={"Authorization": f"Convex {server.admin_key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        status = json.loads(response.read())
    assert status["database"].startswith("SQLite at ")
    with urllib.request.urlopen(server.url + "/version", timeout=10) as response:
        assert response.read().decode().startswith("bayou-")


def test_a_failed_call_is_in_the_server_log(server: BayouServer, app: Path, state: Path) -> None:
    deploy = _shell(
        f"export CONVEX_SELF_HOSTED_URL={server.url}\n"
        f"export CONVEX_SELF_HOSTED_ADMIN_KEY='{server.admin_key}'\n"
        "npx convex deploy\n",
        cwd=app,
        state=state,
        with_bayou=False,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    request = urllib.request.Request(
        server.url + "/api/mutation",
        data=json.dumps({"path": "messages:failWith", "args": {}, "format": "json"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["status"] == "error"
    log = server.log_tail(20000)
    lines = [line for line in log.splitlines() if "failed:" in line]
    assert len(lines) == 1, log
    assert " INFO bayou.runner.logs: mutation messages" in lines[0]
    assert "failWith failed: Uncaught Error: plain failure" in lines[0]


# -- one server per PostgreSQL database -------------------------------------------------------


def test_a_second_server_on_the_same_postgres_database_is_refused(
    tmp_path: Path, state: Path, postgres_url: str
) -> None:
    instance = f"bayou-first-hour-{secrets.token_hex(4)}"
    env = {
        "POSTGRES_URL": postgres_url,
        "DO_NOT_REQUIRE_SSL": "true",
        "INSTANCE_NAME": instance,
        "XDG_STATE_HOME": str(state),
    }
    first = start_server(tmp_path / "first", env=env)
    try:
        command = [sys.executable, "-m", "bayou.cli", "serve", "--data-dir", str(tmp_path / "2")]
        command += ["--port", str(free_port()), "--site-port", str(free_port())]
        second = subprocess.run(
            command,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        database = instance.replace("-", "_")
        assert lines[0].startswith(
            f"bayou serve: Another Bayou process is using the PostgreSQL database `{database}`"
        )
        assert f"(pid {first.pid} on host {socket.gethostname()}, since " in lines[0]
        assert not (tmp_path / "2").exists()  # no second data directory, no second secret
        # The first one still commits.
        _set_variable(first, "STILL", "serving")
        assert "LeaseLost" not in first.log_tail() and "took over" not in first.log_tail()

        first.kill()  # really gone: the next one starts
        third = start_server(tmp_path / "third", env=env)
        third.stop()
    finally:
        first.stop()
        _drop(postgres_url, instance.replace("-", "_"))


def _set_variable(server: BayouServer, name: str, value: str) -> None:
    request = urllib.request.Request(
        server.url + "/api/update_environment_variables",
        data=json.dumps({"changes": [{"name": name, "value": value}]}).encode(),
        headers={"Authorization": f"Convex {server.admin_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def _drop(url: str, database: str) -> None:
    with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
