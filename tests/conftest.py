"""Fixtures shared by the whole suite: Node with the official npm packages, PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent
# `scripts/check-latest` points this at a copy with the newest `convex` release.
JS_DIR = Path(os.environ.get("BAYOU_TEST_JS_DIR") or TESTS_DIR / "js")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _put_node_tools_first_on_path() -> None:
    """Every process the tests start (the CLI, npm, `bayou serve`) finds Node ≥ 22."""
    from bayou.errors import InternalError
    from tests.node_tools import tools_dir

    try:
        tools = str(tools_dir())
    except InternalError:
        return  # the `node` fixture reports it
    path = os.environ.get("PATH", "")
    if not path.startswith(tools + os.pathsep):
        os.environ["PATH"] = tools + os.pathsep + path


_put_node_tools_first_on_path()

# Servers the tests start record themselves (for `bayou admin-key`) here, not in ~/.local.
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="bayou-test-state-")


@pytest.fixture(scope="session")
def node() -> str:
    """Path of the `node` executable (≥ 22, what the official CLI requires)."""
    from bayou.errors import InternalError
    from bayou.runtimes.js.node import find_node

    try:
        return find_node()
    except InternalError as e:
        pytest.fail(f"The compatibility tests need Node.js: {e.message}")


@pytest.fixture(scope="session")
def js_dir(node: str) -> Path:
    """tests/js with the official npm packages (`convex`, `ws`) at their locked versions."""
    lock_path = JS_DIR / ".install.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (JS_DIR / "node_modules" / "convex" / "package.json").exists():
            npm = shutil.which("npm")
            if npm is None:
                pytest.fail("npm is needed to install the official Convex packages")
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=JS_DIR,
                check=True,
            )
    return JS_DIR


POSTGRES_URL = os.environ.get("BAYOU_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def postgres_available() -> bool:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL + "/postgres", connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server URL without a database; under CI a missing server fails the run."""
    if not postgres_available():
        if IN_CI:
            pytest.fail(
                f"PostgreSQL is not reachable at {POSTGRES_URL} (CI=true: this is a failure)"
            )
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}")
    yield POSTGRES_URL
