"""`bayou doctor` names what is wrong and how to fix it."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import BayouRunner, _bayou_executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path):
    data = tmp_path / "data"
    port, site = free_port(), free_port()
    proc = subprocess.Popen(
        [
            _bayou_executable(),
            "serve",
            "--data-dir",
            str(data),
            "--port",
            str(port),
            "--site-port",
            str(site),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/version", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("bayou serve did not start: " + proc.stderr.read().decode())
    yield data, url
    proc.terminate()
    proc.wait(timeout=15)


def test_doctor_accepts_a_fresh_key_and_explains_a_foreign_one(
    run_bayou: BayouRunner, server
) -> None:
    data, url = server
    key = run_bayou("admin-key", "--data-dir", str(data)).stdout.strip().splitlines()[-1]
    good = run_bayou("doctor", "--data-dir", str(data), "--url", url, "--admin-key", key)
    assert good.returncode == 0, good.stdout
    assert "[ok  ] admin key: accepted" in good.stdout
    assert "(in use by a running server)" in good.stdout

    other = run_bayou(
        "admin-key", "--data-dir", str(data / "other"), "--instance-name", "someone-else"
    )
    foreign = other.stdout.strip().splitlines()[-1]
    bad = run_bayou("doctor", "--data-dir", str(data), "--url", url, "--admin-key", foreign)
    assert bad.returncode == 1
    assert "[FAIL] admin key: refused (401)" in bad.stdout
    assert "someone-else" in bad.stdout  # the message names the instance mismatch


def test_doctor_reports_a_bad_secret_and_a_missing_server(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    result = run_bayou(
        "doctor",
        "--data-dir",
        str(tmp_path / "d"),
        "--url",
        "http://127.0.0.1:9",
        env={"INSTANCE_SECRET": "xyz"},
    )
    assert result.returncode == 1
    assert "[FAIL] credentials" in result.stdout
    assert "no Bayou answers at http://127.0.0.1:9" in result.stdout
