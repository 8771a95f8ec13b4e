"""Benchmark: how long `bayou` takes to start, against `python -c pass` in the same run.

  python -c pass        the floor: starting this Python at all
  bayou --help          the command users type first, and every command's fixed cost
  bayou <cmd> --help    each command's own imports
  bayou serve           launch until `/version` answers (SQLite, a fresh data directory)

Each figure is the median of --runs runs (after one warm-up), printed with its ratio to
`python -c pass`. The commands run with bytecode caching on, whatever PYTHONDONTWRITEBYTECODE
says here: an installed Bayou has its .pyc files (pip writes them), and compiling ~240
modules from source would add ~0.3 s to every figure. Goals (issue 9): `bayou --help` under 0.5 s and `bayou serve` answering
`/version` within 1.5 s of launch, on an idle machine.

    python bench/startup_bench.py
    python bench/startup_bench.py --runs 10 --no-serve
    python -X importtime -c 'from bayou.cli.main import app' 2>&1 | sort -t'|' -k2 -n | tail
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("admin-key", "doctor", "deploy", "dev", "run", "env", "logs", "function-spec", "serve")


def bayou_command() -> list[str]:
    """The installed console script beside this Python, else the module entry point."""
    script = Path(sys.executable).parent / "bayou"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bayou.cli"]


# As installed: .pyc files written on the warm-up run and read after it.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_process(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=ENV)
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def time_serve() -> float:
    """Seconds from launching `bayou serve` until `/version` answers, then stop it."""
    data = Path(tempfile.mkdtemp(prefix="bayou-startup-"))
    port, site = free_port(), free_port()
    try:
        started = time.perf_counter()
        command = [*bayou_command(), "serve", "--data-dir", str(data)]
        command += ["--port", str(port), "--site-port", str(site)]
        process = subprocess.Popen(
            command,
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"bayou serve exited with {process.returncode}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=5):
                        return time.perf_counter() - started
                except OSError:
                    time.sleep(0.005)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def median_of(runs: int, measure: Callable[[], float]) -> float:
    measure()  # warm-up: the page cache, .pyc files
    return statistics.median(measure() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-serve", action="store_true", help="skip `bayou serve`")
    options = parser.parse_args()
    os.chdir(tempfile.gettempdir())  # no .env.local or bayou-data of the caller's
    bayou = bayou_command()
    floor = median_of(options.runs, lambda: time_process([sys.executable, "-c", "pass"]))
    rows = [("python -c pass", floor)]
    rows.append(("bayou --help", median_of(options.runs, lambda: time_process([*bayou, "--help"]))))
    for name in COMMANDS:
        argv = [*bayou, *name.split(), "--help"]
        rows.append(
            (f"bayou {name} --help", median_of(options.runs, lambda a=argv: time_process(a)))
        )
    if not options.no_serve:
        rows.append(("bayou serve → /version", median_of(options.runs, time_serve)))
    print(f"{'command':<28} {'median s':>9} {'× python -c pass':>17}")
    for name, seconds in rows:
        print(f"{name:<28} {seconds:>9.3f} {seconds / floor:>17.1f}")


if __name__ == "__main__":
    main()
