"""Collecting a Python functions folder for `bayou deploy`, and its local syntax check."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bayou.cli.connection import CliError
from bayou.cli.functions_folder import check_syntax, collect


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_collects_python_modules_by_relative_path(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "messages.py": "x = 1\n",
            "admin/users.py": "y = 2\n",
            "__pycache__/messages.cpython-311.py": "",
            "_generated/api.py": "",
            ".hidden/secret.py": "",
            "notes.txt": "",
        },
    )
    modules = collect(tmp_path)
    assert [m.path for m in modules] == ["admin/users.py", "messages.py"]
    assert modules[1].sha256 == hashlib.sha256(b"x = 1\n").hexdigest()
    assert modules[1].to_push() == {
        "path": "messages.py",
        "source": "x = 1\n",
        "environment": "python",
    }


def test_a_typescript_folder_points_to_npx(tmp_path: Path) -> None:
    write(tmp_path, {"messages.ts": "export const x = 1;\n"})
    with pytest.raises(CliError) as e:
        collect(tmp_path)
    assert "npx convex deploy" in e.value.message


def test_a_missing_folder_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(CliError) as e:
        collect(tmp_path / "convex")
    assert "--functions" in e.value.message


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, {"ok.py": "x = 1\n", "lib/bad.py": "x = 1\n\ndef f(:\n    pass\n"})
    with pytest.raises(CliError) as e:
        check_syntax(tmp_path, collect(tmp_path))
    assert e.value.message.startswith("lib/bad.py:3: SyntaxError")
    assert "def f(:" in e.value.message and "Nothing was deployed" in e.value.message
