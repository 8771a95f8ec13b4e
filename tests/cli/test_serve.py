"""`bayou serve` as a process: its flags, and what it prints when it starts, fails and stops."""

from __future__ import annotations

import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from bayou.config import SETTINGS

from .conftest import BayouRunner, ServeFactory, free_port

NOISE = ("Traceback", "worker exited", "never retrieved", "KeyboardInterrupt", "uvicorn")


def _serve_quickly(run_bayou: BayouRunner, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """`bayou serve` expected to fail at start (so it exits by itself)."""
    return run_bayou(
        "serve", "--port", str(free_port()), "--site-port", str(free_port()), *args, **kwargs
    )


def _one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    for noise in NOISE:
        assert noise not in output
    return lines[0]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_help_lists_every_setting_with_its_variable_and_default(
    run_bayou: BayouRunner, setting
) -> None:
    text = " ".join(run_bayou("serve", "--help").stdout.split())
    assert setting.flag in text
    if setting.env:
        assert f"Env: {setting.env}." in text
    assert f"Default: {setting.default_text.replace('`', '')}." in text


def test_a_bad_setting_is_one_line_with_status_2(run_bayou: BayouRunner, tmp_path: Path) -> None:
    result = _serve_quickly(run_bayou, "--log-level", "verbose")
    assert result.returncode == 2
    assert _one_line(result.stderr) == (
        "bayou serve: --log-level / LOG_LEVEL must be one of debug, info, warning, error, "
        "not 'verbose'"
    )
    bad_env = _serve_quickly(run_bayou, env={"BAYOU_QUERY_TIMEOUT": "soon"})
    assert bad_env.returncode == 2
    assert "BAYOU_QUERY_TIMEOUT='soon' must be a number" in _one_line(bad_env.stderr)


def test_a_busy_port_is_one_line_that_names_the_fix(run_bayou: BayouRunner, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_bayou("serve", "--port", str(port), "--site-port", str(free_port()))
    assert result.returncode == 1
    assert _one_line(result.stderr) == (
        f"bayou serve: Port {port} on 127.0.0.1 is already in use (by another program). "
        "Stop it, or pick another port with --port / PORT."
    )
    assert not (tmp_path / "bayou-data").exists()  # it failed before touching anything


def test_a_port_held_by_another_bayou_names_that_server(
    run_bayou: BayouRunner, serve: ServeFactory, tmp_path: Path
) -> None:
    first = serve(data_dir=tmp_path / "first")
    result = run_bayou(
        "serve",
        "--data-dir",
        "second",
        "--port",
        str(free_port()),
        "--site-port",
        str(first.site_port),
    )
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert (
        f"Port {first.site_port} on 127.0.0.1 is already in use (by another Bayou server, {first.url}"
        in line
    )
    assert f"pid {first.process.pid})" in line and "--site-port / SITE_PROXY_PORT" in line


def test_a_second_server_on_the_same_data_dir_is_refused_naming_the_first(
    run_bayou: BayouRunner, serve: ServeFactory, tmp_path: Path
) -> None:
    first = serve(data_dir=tmp_path / "data")
    result = _serve_quickly(run_bayou, "--data-dir", "data")
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert line.startswith(
        f"bayou serve: Another Bayou process is using {first.data_dir}/db.sqlite3"
    )
    assert f"(pid {first.process.pid} on host {socket.gethostname()}, since " in line
    with urllib.request.urlopen(first.url + "/version") as response:  # the first one serves on
        assert response.status == 200


def test_an_unusable_data_dir_is_one_line(run_bayou: BayouRunner, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a directory\n")
    result = _serve_quickly(run_bayou, "--data-dir", "taken/data")
    assert result.returncode == 1
    assert _one_line(result.stderr) == (
        f"bayou serve: Cannot use the data directory {tmp_path / 'taken' / 'data'} (Not a "
        f"directory: {tmp_path / 'taken' / 'data'}). Give --data-dir / DATA_DIR a directory "
        "this user may create and write to."
    )


@pytest.mark.parametrize(
    ("sig", "group"), [(signal.SIGINT, True), (signal.SIGTERM, False)], ids=["ctrl-c", "sigterm"]
)
def test_stopping_is_silent(serve: ServeFactory, tmp_path: Path, sig: int, group: bool) -> None:
    server = serve(data_dir=tmp_path / "data")

    def log() -> list[str]:  # without the access lines of the readiness checks
        return [line for line in server.log().splitlines() if " bayou.access: " not in line]

    banner = log()
    assert "Bayou is running" in "\n".join(banner)
    # Ctrl-C in a terminal signals the whole foreground process group, workers included.
    assert server.stop(sig, group=group) == 0
    assert log() == banner  # nothing after the banner: no traceback, no warning


def test_the_banner_names_a_command_that_works_from_any_folder(
    serve: ServeFactory, tmp_path: Path
) -> None:
    server = serve(data_dir=tmp_path / "data")
    export = next(line for line in server.log().splitlines() if "ADMIN_KEY=$(" in line)
    assert f"admin-key --data-dir {server.data_dir})" in export
    command = export.split("$(", 1)[1].rsplit(")", 1)[0]
    assert command.startswith(("bayou ", "/"))
