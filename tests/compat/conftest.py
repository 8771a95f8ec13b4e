"""Black-box harness: `bayou serve` as a real process, apps deployed with the official CLI,
and the official clients (npm in Node, PyPI) pointed at it.

Fixtures and helpers (module-scoped by default: one server and one deployed app per test
module keeps the suite fast on two cores):

    bayou_server             a running `bayou serve` (temporary data dir, free loopback ports)
    deploy(app_dir)          deploy an app with `npx convex deploy` → ConvexApp
    convex_app               tests/compat/app deployed to this module's server
    start_server(data_dir)   start another server (for restart tests and custom settings)
    run_node(node, js_dir, script, *args)   a Node script with the official npm packages

A failing test that used a server gets the tail of that server's log in its report.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.auth.issuer import TestIssuer
from tests.ports import free_port

COMPAT_DIR = Path(__file__).parent
TEST_APP = COMPAT_DIR / "app"
READY_TIMEOUT = 30.0
CLI_TIMEOUT = 180.0
_BAYOU = [sys.executable, "-c", "from bayou.cli.main import app; app()"]


@dataclass
class BayouServer:
    """A `bayou serve` process; `restart()` keeps its ports and data directory."""

    data_dir: Path
    port: int
    site_port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    admin_key: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def site_url(self) -> str:
        return f"http://127.0.0.1:{self.site_port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> BayouServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the process owns it until stop()
        log.write(f"--- bayou serve on :{self.port} ---\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [
                *_BAYOU,
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--site-port",
                str(self.site_port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
        )
        log.close()
        self._wait_ready()
        if not self.admin_key:
            self.admin_key = mint_admin_key(self.data_dir)
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"bayou serve exited with {self.process.returncode}\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/version", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"bayou serve was not ready in {READY_TIMEOUT}s\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM), killing it if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Kill without warning (SIGKILL): the crash case."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> BayouServer:
        self.stop()
        return self.start()

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    def cli_env(self) -> dict[str, str]:
        """The environment the official CLI needs to talk to this server."""
        return {
            **os.environ,
            "CONVEX_SELF_HOSTED_URL": self.url,
            "CONVEX_SELF_HOSTED_ADMIN_KEY": self.admin_key,
            "CONVEX_DEPLOYMENT": "",
            "CONVEX_DEPLOY_KEY": "",
            "CI": "1",
            "NO_COLOR": "1",
            "FORCE_COLOR": "0",
        }


def mint_admin_key(data_dir: Path) -> str:
    out = subprocess.run(
        [*_BAYOU, "admin-key", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip().splitlines()[-1]


def start_server(data_dir: Path, *, env: dict[str, str] | None = None) -> BayouServer:
    """Start `bayou serve` over `data_dir` on free loopback ports (the caller stops it)."""
    return BayouServer(
        data_dir=data_dir,
        port=free_port(),
        site_port=free_port(),
        log_path=data_dir.parent / f"{data_dir.name}.log",
        env=env or {},
    ).start()


@pytest.fixture(scope="module")
def bayou_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BayouServer]:
    """One running `bayou serve` for the test module."""
    server = start_server(tmp_path_factory.mktemp("bayou") / "data")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def issuer() -> Iterator[TestIssuer]:
    """A real OIDC issuer on loopback (discovery, JWKS, token minting)."""
    issuer = TestIssuer()
    with issuer.serve():
        yield issuer


def run_cli(
    name: str,
    command: list[str],
    args: Sequence[str],
    *,
    cwd: Path,
    server: BayouServer,
    env: dict[str, str] | None = None,
    timeout: float = CLI_TIMEOUT,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a CLI pointed at `server`; with `check`, a failure raises with its output and the
    server's log (what a failing compatibility test needs to be read)."""
    proc = subprocess.run(
        [*command, *args],
        cwd=cwd,
        env={**server.cli_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{name} {' '.join(args)} exited with {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\n"
            f"server log:\n{server.log_tail()}"
        )
    return proc


@dataclass
class ConvexApp:
    """A working copy of an app (its `node_modules` linked to tests/js's) and the CLI on it."""

    dir: Path
    server: BayouServer
    node: str
    js_dir: Path

    @property
    def cli_path(self) -> Path:
        return self.js_dir / "node_modules" / "convex" / "bin" / "main.js"

    def cli(
        self,
        *args: str,
        timeout: float = CLI_TIMEOUT,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `npx convex <args>` in the app; raises with its output if it fails."""
        return run_cli(
            "convex",
            [self.node, str(self.cli_path)],
            args,
            cwd=self.dir,
            server=self.server,
            env=env,
            timeout=timeout,
            check=check,
        )

    def cli_process(self, *args: str) -> subprocess.Popen[str]:
        """Start a long-running CLI command (`run --watch`, `dev`); the caller ends it."""
        return subprocess.Popen(
            [self.node, str(self.cli_path), *args],
            cwd=self.dir,
            env=self.server.cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def deploy(self) -> ConvexApp:
        self.cli("deploy", "--typecheck", "disable", "-y")
        return self


Deploy = Callable[[Path], ConvexApp]


def app_copy(source: Path, parent: Path, server: BayouServer, node: str, js_dir: Path) -> ConvexApp:
    """A working copy of the app at `source` in `parent`, its `node_modules` linked to
    tests/js's, pointed at `server` (not deployed yet: call `.deploy()`)."""
    work = parent / source.name
    shutil.copytree(source, work, ignore=shutil.ignore_patterns("node_modules", "_generated"))
    (work / "node_modules").symlink_to(js_dir / "node_modules")
    return ConvexApp(work, server, node, js_dir)


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """The first truthy result of `check()`, polled until `timeout` (then a failure)."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {got!r}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def deploy(
    bayou_server: BayouServer, node: str, js_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Deploy:
    """`deploy(app_dir)`: copy the app, link the official npm packages, `convex deploy` it."""

    def deploy_app(app_dir: Path) -> ConvexApp:
        parent = tmp_path_factory.mktemp("app")
        return app_copy(app_dir, parent, bayou_server, node, js_dir).deploy()

    return deploy_app


@pytest.fixture(scope="module")
def convex_app(deploy: Deploy) -> ConvexApp:
    """tests/compat/app, deployed once for the test module."""
    return deploy(TEST_APP)


def run_node(
    node: str,
    js_dir: Path,
    script: Path,
    *args: str,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a CommonJS Node script that `require`s the official npm packages."""
    return subprocess.run(
        [node, str(script), *args],
        env={**os.environ, "NODE_PATH": str(js_dir / "node_modules"), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    servers = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, BayouServer):
            servers.append(value)
        elif isinstance(value, ConvexApp):
            servers.append(value.server)
    for server in {id(s): s for s in servers}.values():
        with contextlib.suppress(Exception):
            report.sections.append((f"bayou serve log (:{server.port})", server.log_tail()))
