"""A broken app fails the test that loads it, saying what is wrong and where."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bayou.testing import AppError, Harness


def app(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "convex"
    folder.mkdir()
    for name, source in files.items():
        (folder / name).write_text(source)
    return folder


@pytest.fixture(scope="module")
def harness() -> Harness:
    with Harness() as h:
        yield h  # type: ignore[misc]


def test_a_syntax_error_names_the_file_line_and_column(tmp_path: Path, harness: Harness) -> None:
    folder = app(tmp_path, {"tasks.py": "from bayou import query\n\ndef broken(:\n    pass\n"})
    with pytest.raises(AppError) as error:
        harness.open(folder)
    assert str(error.value).startswith("convex/tasks.py:3: SyntaxError:")
    assert "def broken(:" in str(error.value) and "^" in str(error.value)


def test_a_missing_functions_folder_says_where_it_looked(tmp_path: Path, harness: Harness) -> None:
    with pytest.raises(AppError) as error:
        harness.open(tmp_path / "convex")
    assert f"No functions folder at {tmp_path / 'convex'}" in str(error.value)


def test_an_import_cycle_names_both_files(tmp_path: Path, harness: Harness) -> None:
    folder = app(
        tmp_path,
        {
            "a.py": "from .b import helper\n\ndef first() -> int:\n    return 1\n",
            "b.py": "from .a import first\n\ndef helper() -> int:\n    return first()\n",
        },
    )
    with pytest.raises(AppError) as error:
        harness.open(folder)
    message = str(error.value)
    assert message.startswith("Failed to analyze a.py (at b.py:1)"), message
    assert "circular import" in message
    assert 'File "convex/b.py", line 1, in <module>' in message
    assert 'File "convex/a.py", line 1, in <module>' in message


def test_a_module_that_raises_at_import_names_its_line(tmp_path: Path, harness: Harness) -> None:
    folder = app(tmp_path, {"jobs.py": "import os\n\nLIMIT = int(os.environ['LIMIT'])\n"})
    with pytest.raises(AppError) as error:
        harness.open(folder)
    assert "(at jobs.py:3)" in str(error.value) and "KeyError: 'LIMIT'" in str(error.value)


def test_a_requirement_that_is_not_installed_is_named(tmp_path: Path, harness: Harness) -> None:
    folder = app(tmp_path, {"tasks.py": "X = 1\n"})
    (tmp_path / "requirements.txt").write_text("httpx>=0.20\nno-such-package-bayou==1.0\n")
    with pytest.raises(AppError) as error:
        harness.open(folder)
    assert "asks for no-such-package-bayou==1.0, not installed in this Python" in str(error.value)
    assert "httpx" not in str(error.value).split("asks for")[1].split(",")[0]


def test_the_plugin_fails_a_test_without_a_functions_folder(tmp_path: Path) -> None:
    (tmp_path / "test_it.py").write_text("def test_it(convex):\n    pass\n")
    result = subprocess.run(  # the plugin loads from its entry point, as for users
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_it.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no convex/ folder of Python modules above" in result.stdout
    assert "1 error" in result.stdout
