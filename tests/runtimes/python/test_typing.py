"""A user app written against `bayou` type-checks with `mypy --strict`, and mypy catches
misuse of the API (so the types are real, not `Any`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runtimes.python.conftest import APP_DIR

pytest.importorskip("mypy")

MISUSE = """
from bayou import AsyncQueryCtx, MutationCtx, api, mutation, query, v


@mutation(args={"x": v.string()})
def f(ctx: MutationCtx, x: str) -> str:
    ctx.db.insert("t", 5)
    ctx.scheduler.run_after("soon", api.a.b)
    return ctx.db.query("t").take(1)


@query(args={})
async def g(ctx: AsyncQueryCtx) -> int:
    docs = ctx.db.query("t").collect()
    return len(docs)
"""


def mypy(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "convex"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_example_app_passes_mypy_strict_and_misuse_fails(tmp_path: Path) -> None:
    shutil.copytree(APP_DIR, tmp_path / "convex")
    result = mypy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "convex" / "misuse.py").write_text(MISUSE)
    result = mypy(tmp_path)
    assert result.returncode == 1
    out = result.stdout
    assert 'Argument 2 to "insert" of "DatabaseWriter" has incompatible type "int"' in out
    assert 'Argument 1 to "run_after" of "Scheduler" has incompatible type "str"' in out
    assert "Incompatible return value type" in out
    assert 'Maybe you forgot to use "await"?' in out
