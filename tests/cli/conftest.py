"""Running the installed `bayou` console script in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

_CREDENTIAL_VARIABLES = ("DATA_DIR", "INSTANCE_NAME", "INSTANCE_SECRET")


def _bayou_executable() -> str:
    beside_python = Path(sys.executable).parent / "bayou"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("bayou")
    if found is None:
        pytest.fail("the `bayou` console script is not installed (pip install -e .)")
    return found


BayouRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_bayou(tmp_path: Path) -> BayouRunner:
    """Run `bayou ARGS…` in tmp_path with `env` added to a credentials-free environment."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_VARIABLES}
        return subprocess.run(
            [_bayou_executable(), *args],
            cwd=tmp_path,
            env={**base, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run
