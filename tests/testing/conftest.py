"""The harness's own tests run its plugin's fixtures over tests/testing/app."""

from __future__ import annotations

from pathlib import Path

import pytest

APP = Path(__file__).parent / "app" / "convex"


@pytest.fixture
def convex_functions_dir() -> Path:
    return APP
