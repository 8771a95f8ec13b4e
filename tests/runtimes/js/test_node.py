"""Finding Node.js for the workers."""

from __future__ import annotations

import pytest

from bayou.errors import InternalError
from bayou.runtimes.js.node import MIN_NODE_MAJOR, find_node, node_major


def test_finds_a_node_recent_enough(node: str) -> None:
    found = find_node()
    assert (node_major(found) or 0) >= MIN_NODE_MAJOR


def test_explicit_node_that_does_not_run_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(InternalError, match=r"Node\.js 18 or newer.*bayou\[node\]"):
        find_node(str(tmp_path / "no-such-node"))
