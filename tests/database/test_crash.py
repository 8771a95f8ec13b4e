"""Crash safety: a process killed in the middle of committing loses no acknowledged commit
and leaves no partial one, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from bayou.database.database import Database
from bayou.persistence.sqlite import SqlitePersistence

from .conftest import CURSOR_KEY, drop_database
from .queries import scan

CHILD = Path(__file__).with_name("crash_child.py")


def run_and_kill(args: list[str], acknowledged: set[int], rng: random.Random, run: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(run * 1_000_000), *args],
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    wanted = rng.randint(5, 60)
    got = 0
    deadline = time.monotonic() + 60
    while got < wanted and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged.add(int(line))
        got += 1
    os.kill(proc.pid, signal.SIGKILL)  # mid-commit: 8 writers keep the committer busy
    proc.wait()
    for line in proc.stdout.read().splitlines():  # acknowledged before the kill landed
        acknowledged.add(int(line))
    assert got >= wanted, "the child did not commit"


async def check(db: Database, acknowledged: set[int]) -> None:
    docs = await db.begin().query(scan("pairs")).collect()
    halves = Counter(int(d["pair"]) for d in docs)
    partial = {n for n, c in halves.items() if c != 2}
    assert not partial, f"partial commits after the crash: {sorted(partial)[:10]}"
    lost = acknowledged - set(halves)
    assert not lost, f"acknowledged commits lost: {sorted(lost)[:10]}"


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
async def test_killed_committer_loses_nothing_acknowledged_and_leaves_nothing_partial(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(7)
    acknowledged: set[int] = set()
    if engine == "sqlite":
        path = tmp_path / "db.sqlite3"
        args = ["sqlite", str(path)]

        def persistence():
            return SqlitePersistence(path)
    else:
        from bayou.persistence.postgres import PostgresPersistence

        url = request.getfixturevalue("postgres_url")
        instance = f"bayou-crash-{uuid.uuid4().hex[:10]}"
        args = ["postgres", url, instance]

        def persistence():
            return PostgresPersistence(url, instance, require_ssl=False)

    try:
        for run in range(3):
            run_and_kill(args, acknowledged, rng, run)
            db = await Database.open(persistence(), cursor_key=CURSOR_KEY)
            try:
                await check(db, acknowledged)
            finally:
                await db.close()
    finally:
        if engine == "postgres":
            drop_database(url, instance.replace("-", "_"))
