"""The pytest plugin (registered as `bayou` in the `pytest11` entry points, so installing
Bayou is enough):

    convex               a `ConvexTest`: a fresh backend with your app deployed, per test
    convex_functions_dir the functions folder (default: the `bayou_functions` ini option,
                         else the nearest `convex/` above the test file); override it in a
                         conftest.py to choose another
    convex_env           the deployment's environment variables (default: none); override
                         it to give functions `os.environ` values
    bayou_harness        the session's `Harness` (worker processes shared by every test)

    # pyproject.toml
    [tool.pytest.ini_options]
    bayou_functions = "convex"        # relative to the rootdir
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bayou.testing.harness import ConvexTest
    from bayou.testing.session import Harness


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "bayou_functions",
        "The functions folder the `convex` fixture deploys (relative to the rootdir); "
        "default: the nearest convex/ above each test file.",
        default="",
    )


@pytest.fixture(scope="session")
def bayou_harness() -> Iterator[Harness]:
    """The session's test backends: worker processes started once, shared by every test."""
    from bayou.testing.session import Harness

    harness = Harness()
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def convex_functions_dir(request: pytest.FixtureRequest) -> Path:
    """The functions folder of the app under test."""
    from bayou.testing.app import FUNCTIONS_DIR, find_functions_dir

    configured = str(request.config.getini("bayou_functions") or "")
    if configured:
        return Path(request.config.rootpath) / configured
    found = find_functions_dir(Path(request.path), Path(request.config.rootpath))
    if found is None:
        pytest.fail(
            f"bayou.testing: no {FUNCTIONS_DIR}/ folder of Python modules above "
            f"{request.path}: create one (bayou init), set `bayou_functions` in the pytest "
            "configuration, or override the `convex_functions_dir` fixture",
            pytrace=False,
        )
    return found


@pytest.fixture
def convex_env() -> dict[str, str]:
    """The deployment's environment variables in the test (none by default)."""
    return {}


@pytest.fixture
def convex(
    bayou_harness: Harness,
    convex_functions_dir: Path,
    convex_env: dict[str, str],
    request: pytest.FixtureRequest,
) -> Iterator[ConvexTest]:
    """A fresh backend with the app deployed: its own empty database and fake clock."""
    from bayou.testing.app import AppError

    try:
        test = bayou_harness.open(convex_functions_dir, env=convex_env, seed=request.node.nodeid)
    except AppError as error:
        pytest.fail(f"bayou.testing could not load the app:\n{error}", pytrace=False)
    try:
        yield test
    finally:
        bayou_harness.close_test(test)
