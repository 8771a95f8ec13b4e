"""A local folder of Python functions (`convex/` by default), as `bayou deploy` pushes it.

Every `.py` file under the folder is a module, named by its path relative to the folder
with `/` separators (`messages.py`, `admin/users.py`); caches, hidden folders and the
TypeScript CLI's `_generated/` are skipped. Before anything is sent, each module is
compiled locally, so a syntax error is reported with its file and line and nothing
reaches the deployment.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bayou.cli.connection import CliError

SKIPPED_DIRS = frozenset({"__pycache__", "_generated", "node_modules"})
TYPESCRIPT_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs")


@dataclass(frozen=True, slots=True)
class LocalModule:
    """One module to push: its path in the folder and its source."""

    path: str
    source: str

    @property
    def sha256(self) -> str:
        """The hash the deployment keys stored modules by (`get_config_hashes`)."""
        return hashlib.sha256(self.source.encode()).hexdigest()

    def to_push(self) -> dict[str, str]:
        """The module as `start_push` takes it."""
        return {"path": self.path, "source": self.source, "environment": "python"}


def _skipped(relative: Path) -> bool:
    return any(part in SKIPPED_DIRS or part.startswith(".") for part in relative.parts[:-1])


def collect(folder: Path) -> list[LocalModule]:
    """The folder's modules, sorted by path; `CliError` when there is nothing to push."""
    if not folder.is_dir():
        raise CliError(
            f"No functions folder at {folder}: create it (e.g. {folder}/messages.py) or "
            "name another one with --functions DIR."
        )
    modules: list[LocalModule] = []
    scripts = 0
    for file in sorted(folder.rglob("*")):
        relative = file.relative_to(folder)
        if not file.is_file() or _skipped(relative) or relative.name.startswith("."):
            continue
        if file.suffix == ".py":
            try:
                source = file.read_text(encoding="utf-8")
            except UnicodeDecodeError as error:
                raise CliError(f"{file}: not UTF-8 text ({error.reason})") from None
            modules.append(LocalModule(relative.as_posix(), source))
        elif file.suffix in TYPESCRIPT_SUFFIXES:
            scripts += 1
    if not modules:
        hint = (
            " It holds TypeScript/JavaScript: deploy that with `npx convex deploy`."
            if scripts
            else ""
        )
        raise CliError(f"No Python modules (*.py) in {folder}.{hint}")
    return modules


def check_syntax(folder: Path, modules: list[LocalModule]) -> None:
    """Compile every module; the first syntax error as a `CliError` naming file and line."""
    for module in modules:
        file = folder / module.path
        try:
            compile(module.source, str(file), "exec", dont_inherit=True)
        except SyntaxError as error:
            raise CliError(_describe(module.path, error)) from None
        except ValueError as error:  # e.g. a NUL byte in the source
            raise CliError(f"{module.path}: cannot be compiled: {error}") from None


def _describe(path: str, error: SyntaxError) -> str:
    line = error.lineno or 0
    out = f"{path}:{line}: {type(error).__name__}: {error.msg}"
    if error.text:
        text = error.text.rstrip("\n")
        stripped = text.lstrip()
        out += f"\n    {stripped}"
        if error.offset:
            caret = max(error.offset - (len(text) - len(stripped)) - 1, 0)
            out += "\n    " + " " * caret + "^"
    return out + "\nNothing was deployed."
