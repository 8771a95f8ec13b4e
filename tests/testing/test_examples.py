"""The harness runs the example app's tests and `bayou init`'s, as users run them (pytest
in a subprocess, the plugin loaded from its entry point), and both type-check strictly."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bayou.cli.init import template

ROOT = Path(__file__).resolve().parents[2]
PY_APP = ROOT / "examples" / "py-app"


def run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def pytest_in(folder: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths], folder)


@pytest.fixture(scope="module")
def new_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("new-app")
    for path, text in template("new-app").items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return folder


def test_the_example_apps_tests_pass_on_the_harness(tmp_path: Path) -> None:
    shutil.copytree(PY_APP, tmp_path / "py-app", ignore=shutil.ignore_patterns("__pycache__"))
    result = pytest_in(tmp_path / "py-app", "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_a_new_apps_tests_pass_on_the_harness(new_app: Path) -> None:
    result = pytest_in(new_app)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


@pytest.mark.parametrize("app", ["example", "new"])
def test_the_apps_pass_mypy_strict(app: str, new_app: Path) -> None:
    folder = PY_APP if app == "example" else new_app
    result = run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "convex", "tests"], folder
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("app", ["example", "new"])
def test_the_apps_pass_pyright_strict(app: str, new_app: Path) -> None:
    pyright = shutil.which("pyright", path=str(Path(sys.executable).parent))
    if pyright is None:
        pytest.fail("pyright is not installed: pip install -e '.[test]'")
    folder = PY_APP if app == "example" else new_app
    result = subprocess.run(
        [pyright, "--pythonpath", sys.executable, "-p", str(ROOT / "pyproject.toml"), "."],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout
