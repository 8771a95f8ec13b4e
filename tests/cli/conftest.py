"""Running the installed `bayou` console script in a subprocess, and `bayou serve` itself.

Every process gets its own `XDG_STATE_HOME` (under the test's tmp_path), so the records of
running servers it reads and writes are the test's own, never those of servers other
tests or the user run at the same time.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.ports import free_port

_CREDENTIAL_VARIABLES = (
    "DATA_DIR",
    "INSTANCE_NAME",
    "INSTANCE_SECRET",
    "CONVEX_SELF_HOSTED_URL",
    "CONVEX_SELF_HOSTED_ADMIN_KEY",
    "CONVEX_DEPLOYMENT",
    "CONVEX_DEPLOY_KEY",
    "POSTGRES_URL",
    "PORT",
    "SITE_PROXY_PORT",
)
READY_TIMEOUT = 60.0


def _bayou_executable() -> str:
    beside_python = Path(sys.executable).parent / "bayou"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("bayou")
    if found is None:
        pytest.fail("the `bayou` console script is not installed (pip install -e .)")
    return found


def clean_environment(state: Path) -> dict[str, str]:
    """os.environ without deployment variables, with its own state directory."""
    base = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_VARIABLES}
    return {**base, "XDG_STATE_HOME": str(state)}


BayouRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def state_home(tmp_path: Path) -> Path:
    """The test's XDG_STATE_HOME: where its servers record themselves."""
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def run_bayou(tmp_path: Path, state_home: Path) -> BayouRunner:
    """Run `bayou ARGS…` (in tmp_path unless `cwd`) with `env` added to a clean environment."""

    def run(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_bayou_executable(), *args],
            cwd=cwd or tmp_path,
            env={**clean_environment(state_home), **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


@dataclass
class Served:
    """A `bayou serve` process started by the `serve` fixture."""

    process: subprocess.Popen[str]
    port: int
    site_port: int
    data_dir: Path
    log_path: Path
    stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, *, group: bool = False) -> int:
        """Send `sig` (to its whole process group with `group`, as a terminal's Ctrl-C
        does) and wait for the exit status."""
        if self.process.poll() is None:
            if group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"bayou serve did not stop on {sig!r}:\n{self.log()}") from None


ServeFactory = Callable[..., Served]


@pytest.fixture
def serve(tmp_path: Path, state_home: Path) -> Iterator[ServeFactory]:
    """`serve(*args, data_dir=…, env=…, cwd=…)`: start `bayou serve` on free loopback ports
    in its own process group and wait until `/version` answers; stopped at teardown."""
    started: list[Served] = []

    def start(
        *args: str,
        data_dir: Path | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        wait: bool = True,
    ) -> Served:
        data = data_dir or tmp_path / "data"
        port, site_port = free_port(), free_port()
        log_path = tmp_path / f"serve-{port}.log"
        command = [_bayou_executable(), "serve", "--data-dir", str(data)]
        command += ["--port", str(port), "--site-port", str(site_port), *args]
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                command,
                cwd=cwd or tmp_path,
                env={**clean_environment(state_home), **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        served = Served(process, port, site_port, data, log_path)
        started.append(served)
        if wait:
            _wait_ready(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.stop()


def _wait_ready(served: Served) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"bayou serve exited with {served.process.returncode}:\n{served.log()}")
        try:
            with urllib.request.urlopen(served.url + "/version", timeout=2):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"bayou serve was not ready in {READY_TIMEOUT}s:\n{served.log()}")


def key_of(result: subprocess.CompletedProcess[str]) -> str:
    """The key `bayou admin-key` printed (its last stdout line)."""
    assert result.returncode == 0, result.stderr
    return result.stdout.rstrip("\n").splitlines()[-1]
