"""Tests of the bayou.values package surface and its place at the bottom of the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import bayou.values

PACKAGE_DIR = Path(bayou.values.__file__).parent


def test_public_names_exist_once():
    assert len(set(bayou.values.__all__)) == len(bayou.values.__all__)
    for name in bayou.values.__all__:
        assert hasattr(bayou.values, name), name


def test_values_imports_nothing_of_bayou_but_errors():
    for path in PACKAGE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module
            elif isinstance(node, ast.Import):
                module = node.names[0].name
            else:
                continue
            if module.startswith("bayou"):
                assert module == "bayou.errors" or module.startswith("bayou.values"), (
                    f"{path.name} imports {module}"
                )
