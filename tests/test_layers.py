"""The import direction of DESIGN.md: every module imports only from its layer or below."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "bayou"

# Lower numbers are lower layers. Runtimes sit low: the worker processes must not drag the
# database in, and the runner (higher) drives them.
LAYERS = {
    "errors": 0,
    "config": 0,
    "eager": 0,
    "values": 1,
    "protocol": 2,
    "persistence": 3,
    "blobs": 3,
    "runtimes": 3,
    "database": 4,
    "model": 5,
    "auth": 6,
    "runner": 7,
    "deploy": 8,
    "scheduler": 8,
    "files": 8,
    "snapshots": 8,
    "sync": 9,
    "backend": 10,
    "server": 11,
    "cli": 12,
    "testing": 12,
}
# Modules that must stay lighter than their layer allows.
ONLY = {
    # The Python worker runs user code in a separate process: protocol and values only.
    "runtimes.python.worker": {"errors", "values", "protocol", "runtimes"},
}


def layer_of(module: str) -> str:
    return module.split(".")[0]


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bayou" or node.module.startswith("bayou."):
                found.append(node.module.removeprefix("bayou").lstrip("."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("bayou."):
                    found.append(alias.name.removeprefix("bayou."))
    return [f for f in found if f]


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert packages | modules <= set(LAYERS)


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("")
        module = ".".join(rel.parts)
        if module == "__init__":
            continue  # the package root re-exports the user-facing API
        mine = LAYERS[layer_of(module)]
        allowed = ONLY.get(module.removesuffix(".__init__"))
        for imported in imports_of(path):
            target = layer_of(imported)
            if allowed is not None and target not in allowed:
                wrong.append(f"{module} imports {imported} (allowed: {sorted(allowed)})")
            elif LAYERS[target] > mine:
                wrong.append(f"{module} (layer {mine}) imports {imported} (layer {LAYERS[target]})")
    assert not wrong, "\n".join(wrong)
