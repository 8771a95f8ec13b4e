"""The Python runtime stays light: its modules import only `bayou.errors`, `bayou.values`,
`bayou.protocol` and `bayou.runtimes` (the worker processes must not drag the database in),
and nothing the worker imports reaches the host's pool code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_layers import SRC, imports_of

PACKAGE = SRC / "runtimes" / "python"
ALLOWED = {"errors", "values", "protocol", "runtimes"}
HOST_ONLY = {"runtimes.python.host", "runtimes.python.pool", "runtimes.python.process"}


def test_runtime_modules_import_only_the_allowed_layers() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(SRC).with_suffix("").parts)
        for imported in imports_of(path):
            if imported.split(".")[0] not in ALLOWED:
                wrong.append(f"{module} imports bayou.{imported}")
            if module not in HOST_ONLY and imported in HOST_ONLY:
                wrong.append(f"{module} (worker side) imports bayou.{imported}")
    assert not wrong, "\n".join(wrong)


def test_importing_the_worker_loads_no_other_bayou_package() -> None:
    code = (
        "import sys, bayou.runtimes.python.worker\n"
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('bayou.')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert set(eval(out)) <= ALLOWED, out
    assert Path(PACKAGE / "worker.py").exists()
