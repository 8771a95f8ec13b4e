"""The chat example app, in TypeScript and in Python, each deployed to its own `bayou serve`.

    ts_chat     examples/ts-app deployed by the official `npx convex deploy`
    py_chat     examples/py-app deployed by `bayou deploy`
    chat        both, one after the other (a parametrized fixture: tests run once per language)

Module-scoped: one server and one deploy per language per test module. Both deployments
offer the official CLI (`npx(...)`, run in a project folder that has the npm packages) and
the Bayou CLI (`bayou(...)`), pointed at the deployment by CONVEX_SELF_HOSTED_URL and
CONVEX_SELF_HOSTED_ADMIN_KEY. Servers and helpers come from tests/compat/conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import CLI_TIMEOUT, BayouServer, ConvexApp, run_cli, start_server

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
TS_APP = EXAMPLES / "ts-app"
PY_APP = EXAMPLES / "py-app"
LANGUAGES = ("ts", "py")
BAYOU = [sys.executable, "-c", "from bayou.cli.main import app; app()"]


@dataclass
class ChatDeployment:
    """A deployed chat app: its language, server, working copy and the CLIs on it."""

    language: str
    server: BayouServer
    app: ConvexApp  # the official CLI in the working copy

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def admin_key(self) -> str:
        return self.server.admin_key

    @property
    def dir(self) -> Path:
        return self.app.dir

    def npx(self, *args: str, check: bool = True, timeout: float = CLI_TIMEOUT):
        """`npx convex <args>` (the official CLI) in the app's folder."""
        return self.app.cli(*args, check=check, timeout=timeout)

    def bayou(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`bayou <args>` in the app's folder, with the deployment in the environment."""
        return run_cli("bayou", BAYOU, args, cwd=self.dir, server=self.server, env=env, check=check)

    def bayou_process(self, *args: str) -> subprocess.Popen[str]:
        """A long-running `bayou <args>` (dev, logs); stdout and stderr merged."""
        return subprocess.Popen(
            [*BAYOU, *args],
            cwd=self.dir,
            env={**self.server.cli_env(), "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def run(self, path: str, args: dict[str, Any] | None = None) -> Any:
        """Run a function with `bayou run` (admin: internal functions too); its result."""
        out = self.bayou("run", path, json.dumps(args or {})).stdout
        return json.loads(out) if out.strip() else None

    def deploy(self) -> None:
        """Push the working copy again (after editing it)."""
        if self.language == "ts":
            self.app.deploy()
        else:
            self.bayou("deploy")


def working_copy(source: Path, parent: Path, js_dir: Path) -> Path:
    """A copy of an example app with the official npm packages linked in."""
    work = parent / source.name
    shutil.copytree(
        source,
        work,
        ignore=shutil.ignore_patterns("node_modules", "_generated", "__pycache__", ".env*"),
    )
    (work / "node_modules").symlink_to(js_dir / "node_modules")
    if not (work / "package.json").exists():  # the official CLI needs a project folder
        (work / "package.json").write_text(
            '{"name": "py-app", "private": true, "dependencies": {"convex": "*"}}\n'
        )
    return work


def launch(
    language: str,
    tmp_path_factory: pytest.TempPathFactory,
    node: str,
    js_dir: Path,
    *,
    env: dict[str, str] | None = None,
) -> ChatDeployment:
    """Start a server and deploy the chat app in `language` to it."""
    base = tmp_path_factory.mktemp(f"chat-{language}")
    server = start_server(base / "data", env=env)
    try:
        source = TS_APP if language == "ts" else PY_APP
        app = ConvexApp(working_copy(source, base, js_dir), server, node, js_dir)
        deployment = ChatDeployment(language, server, app)
        deployment.deploy()
    except BaseException:
        server.stop()
        raise
    return deployment


@pytest.fixture(scope="module")
def ts_chat(
    tmp_path_factory: pytest.TempPathFactory, node: str, js_dir: Path
) -> Iterator[ChatDeployment]:
    """examples/ts-app on its own server, deployed with `npx convex deploy`."""
    deployment = launch("ts", tmp_path_factory, node, js_dir)
    try:
        yield deployment
    finally:
        deployment.server.stop()


@pytest.fixture(scope="module")
def py_chat(
    tmp_path_factory: pytest.TempPathFactory, node: str, js_dir: Path
) -> Iterator[ChatDeployment]:
    """examples/py-app on its own server, deployed with `bayou deploy`."""
    deployment = launch("py", tmp_path_factory, node, js_dir)
    try:
        yield deployment
    finally:
        deployment.server.stop()


@pytest.fixture(params=LANGUAGES)
def chat(request: pytest.FixtureRequest) -> ChatDeployment:
    """The chat deployment in each language in turn."""
    deployment: ChatDeployment = request.getfixturevalue(f"{request.param}_chat")
    return deployment


def clean_env() -> dict[str, str]:
    """The environment without a deployment configured (for "no key" cases)."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("CONVEX_SELF_HOSTED_URL", "CONVEX_SELF_HOSTED_ADMIN_KEY")
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, ChatDeployment):
            report.sections.append(
                (
                    f"bayou serve log ({value.language}, :{value.server.port})",
                    value.server.log_tail(),
                )
            )
