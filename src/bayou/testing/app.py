"""A Python app's functions folder as the harness loads it, with the checks `bayou deploy`
makes before pushing (so a broken folder fails the test with the file and line).

    folder = find_functions_dir(Path("tests/test_messages.py"))   # the nearest convex/
    app = AppSource.read(folder)
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from pathlib import Path

from bayou.cli.connection import CliError
from bayou.cli.functions_folder import LocalModule, collect

FUNCTIONS_DIR = "convex"
DECORATORS = (
    "query",
    "mutation",
    "action",
    "internal_query",
    "internal_mutation",
    "internal_action",
    "http_action",
)


class AppError(Exception):
    """The functions folder cannot be loaded: the message says what, where and the fix."""


def find_functions_dir(start: Path, stop: Path | None = None) -> Path | None:
    """The `convex/` folder holding `.py` modules nearest to `start` (a test file or a
    folder), looking in it and then in each parent up to `stop` (inclusive)."""
    here = start if start.is_dir() else start.parent
    for folder in (here, *here.parents):
        candidate = folder / FUNCTIONS_DIR
        if candidate.is_dir() and any(candidate.glob("*.py")):
            return candidate
        if stop is not None and folder == stop:
            break
    return None


@dataclass(frozen=True)
class AppSource:
    """The modules of one functions folder, read and compiled."""

    folder: Path
    modules: tuple[LocalModule, ...]

    @classmethod
    def read(cls, folder: Path) -> AppSource:
        """Read and compile every module; `AppError` for a missing folder or a syntax
        error (`convex/messages.py:3: SyntaxError: …`, with the line and a caret)."""
        folder = folder.resolve()
        try:
            modules = collect(folder)
        except CliError as error:
            raise AppError(error.message) from None
        for module in modules:
            _compile(folder, module)
        return cls(folder, tuple(modules))

    @property
    def digest(self) -> str:
        """Changes when any module changes (the harness reloads the app then)."""
        h = hashlib.sha256()
        for module in self.modules:
            h.update(module.path.encode() + b"\0" + module.sha256.encode() + b"\0")
        return h.hexdigest()

    def display(self, path: str) -> str:
        """`convex/messages.py` for the module `messages.py` (how tracebacks name files)."""
        return f"{self.folder.name}/{path}"

    def undecorated(self, module_path: str, name: str) -> str | None:
        """Where `module_path` defines a plain function `name` that is not registered (no
        `@query`/`@mutation`/`@action` …): `convex/messages.py:12`, else None."""
        source = next((m.source for m in self.modules if m.path == module_path), None)
        if source is None:
            return None
        for node in ast.parse(source).body:
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and node.name == name
                and not any(_is_registration(d) for d in node.decorator_list)
            ):
                return f"{self.display(module_path)}:{node.lineno}"
        return None

    def requirements(self) -> list[str]:
        """The requirements of `requirements.txt` beside the functions folder, if any."""
        file = self.folder.parent / "requirements.txt"
        if not file.is_file():
            return []
        out = []
        for line in file.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                out.append(line)
        return out


def _is_registration(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
    return name in DECORATORS


def _compile(folder: Path, module: LocalModule) -> None:
    file = folder / module.path
    try:
        compile(module.source, str(file), "exec", dont_inherit=True)
    except SyntaxError as error:
        where = f"{folder.name}/{module.path}:{error.lineno or 0}"
        text = f"{where}: {type(error).__name__}: {error.msg}"
        if error.text:
            line = error.text.rstrip("\n")
            stripped = line.lstrip()
            text += f"\n    {stripped}"
            if error.offset:
                caret = max(error.offset - (len(line) - len(stripped)) - 1, 0)
                text += "\n    " + " " * caret + "^"
        raise AppError(text) from None
    except ValueError as error:  # e.g. a NUL byte
        raise AppError(f"{folder.name}/{module.path}: cannot be compiled: {error}") from None
