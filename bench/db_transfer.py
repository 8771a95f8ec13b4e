"""Benchmark: Bayou's transaction API against raw SQLite / PostgreSQL, in one run.

Workloads (each for --seconds, after a warm-up):
  transfer-uniform   read two random accounts, write both (uncontended: uniform over
                     --accounts accounts)
  transfer-zipf      the same with accounts drawn from a Zipf distribution (alpha 1.5:
                     a few hot accounts take most transfers, heavy contention)
  insert             insert one small document

Bayou runs --concurrency transactions at once through `run_transaction` (OCC, retries).
The raw baselines do the same reads and writes at the same durability: SQLite in WAL mode
with synchronous=FULL on one connection (SQLite has one writer, so a serial loop is its
best case); PostgreSQL with --concurrency connections, SELECT ... FOR UPDATE in id order.
Printed: committed transactions per second and the ratio Bayou / raw.

    python bench/db_transfer.py --engine sqlite --seconds 5
    python bench/db_transfer.py --engine postgres
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.errors import OccError

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432"


class Picker:
    """Pairs of distinct account indexes, uniform or Zipf-distributed."""

    def __init__(self, n: int, alpha: float, seed: int = 1) -> None:
        self.n = n
        self.rng = random.Random(seed)
        if alpha > 0:
            weights = [1 / (k**alpha) for k in range(1, n + 1)]
            self.cum = list(itertools.accumulate(weights))
        else:
            self.cum = None

    def one(self) -> int:
        if self.cum is None:
            return self.rng.randrange(self.n)
        return self.rng.choices(range(self.n), cum_weights=self.cum)[0]

    def pair(self) -> tuple[int, int]:
        a = self.one()
        while (b := self.one()) == a:
            pass
        return a, b


async def timed(seconds: float, concurrency: int, work) -> tuple[float, int]:
    """Run `work()` from `concurrency` tasks for `seconds`; returns (tps, failures)."""
    done = 0
    failed = 0
    stop = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done, failed
        while time.perf_counter() < stop:
            try:
                await work()
                done += 1
            except OccError:
                failed += 1

    start = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return done / (time.perf_counter() - start), failed


# -- Bayou --------------------------------------------------------------------------------


async def bayou_setup(persistence, accounts: int) -> tuple[Database, list[str]]:
    db = await Database.open(persistence, cursor_key=b"k" * 32)
    ids: list[str] = []
    for start in range(0, accounts, 1000):
        tx = db.begin()
        for i in range(start, min(start + 1000, accounts)):
            ids.append(await tx.insert("accounts", {"balance": 1000.0, "n": float(i)}))
        await db.commit(tx)
    return db, ids


async def bayou_run(db: Database, ids: list[str], args, alpha: float) -> tuple[float, int]:
    picker = Picker(len(ids), alpha)

    async def transfer() -> None:
        a, b = picker.pair()

        async def body(tx) -> None:
            x = await tx.get(ids[a])
            y = await tx.get(ids[b])
            await tx.patch(ids[a], {"balance": x["balance"] - 1})
            await tx.patch(ids[b], {"balance": y["balance"] + 1})

        await run_transaction(db, body)

    await timed(min(1.0, args.seconds), args.concurrency, transfer)  # warm-up
    return await timed(args.seconds, args.concurrency, transfer)


async def bayou_inserts(db: Database, args) -> tuple[float, int]:
    async def insert() -> None:
        await run_transaction(db, lambda tx: tx.insert("events", {"kind": "click", "v": 1.0}))

    return await timed(args.seconds, args.concurrency, insert)


# -- raw SQLite ------------------------------------------------------------------------


def sqlite_setup(path: Path, accounts: int) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance REAL NOT NULL)")
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, v REAL)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO accounts VALUES (?, 1000.0)", ((i,) for i in range(accounts)))
    conn.execute("COMMIT")
    return conn


def sqlite_run(conn: sqlite3.Connection, accounts: int, seconds: float, alpha: float) -> float:
    picker = Picker(accounts, alpha)
    done = 0
    start = time.perf_counter()
    stop = start + seconds
    while time.perf_counter() < stop:
        a, b = picker.pair()
        conn.execute("BEGIN IMMEDIATE")
        x = conn.execute("SELECT balance FROM accounts WHERE id = ?", (a,)).fetchone()[0]
        y = conn.execute("SELECT balance FROM accounts WHERE id = ?", (b,)).fetchone()[0]
        conn.execute("UPDATE accounts SET balance = ? WHERE id = ?", (x - 1, a))
        conn.execute("UPDATE accounts SET balance = ? WHERE id = ?", (y + 1, b))
        conn.execute("COMMIT")
        done += 1
    return done / (time.perf_counter() - start)


def sqlite_inserts(conn: sqlite3.Connection, seconds: float) -> float:
    done = 0
    start = time.perf_counter()
    while time.perf_counter() < start + seconds:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO events (kind, v) VALUES ('click', 1.0)")
        conn.execute("COMMIT")
        done += 1
    return done / (time.perf_counter() - start)


# -- raw PostgreSQL ---------------------------------------------------------------------


async def pg_raw(db_url: str, accounts: int, args, alpha: float | None) -> float:
    import psycopg

    conns = [await psycopg.AsyncConnection.connect(db_url) for _ in range(args.concurrency)]
    picker = Picker(accounts, alpha or 0.0)
    done = 0
    stop = time.perf_counter() + args.seconds

    async def loop(conn) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            if alpha is None:
                async with conn.transaction():
                    await conn.execute("INSERT INTO events (kind, v) VALUES ('click', 1.0)")
                done += 1
                continue
            a, b = sorted(picker.pair())
            async with conn.transaction():
                cur = await conn.execute(
                    "SELECT id, balance FROM accounts WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                    ([a, b],),
                )
                bal = dict(await cur.fetchall())
                await conn.execute(
                    "UPDATE accounts SET balance = %s WHERE id = %s", (bal[a] - 1, a)
                )
                await conn.execute(
                    "UPDATE accounts SET balance = %s WHERE id = %s", (bal[b] + 1, b)
                )
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in conns))
    elapsed = time.perf_counter() - start
    for c in conns:
        await c.close()
    return done / elapsed


async def pg_raw_setup(admin_url: str, name: str, accounts: int) -> str:
    import psycopg

    async with await psycopg.AsyncConnection.connect(admin_url + "/postgres", autocommit=True) as c:
        await c.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin_url}/{name}"
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as c:
        await c.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance DOUBLE PRECISION)")
        await c.execute(
            "CREATE TABLE events (id SERIAL PRIMARY KEY, kind TEXT, v DOUBLE PRECISION)"
        )
        await c.execute(
            "INSERT INTO accounts SELECT g, 1000.0 FROM generate_series(0, %s) g", (accounts - 1,)
        )
    return url


async def pg_drop(admin_url: str, name: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(admin_url + "/postgres", autocommit=True) as c:
        await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- driver -----------------------------------------------------------------------------


def report(name: str, bayou: tuple[float, int], raw: float) -> None:
    tps, failed = bayou
    print(
        f"  {name:<18} bayou {tps:8.0f} tx/s   raw {raw:8.0f} tx/s   ratio {tps / raw:5.2f}"
        f"   (bayou OCC give-ups: {failed})"
    )


async def run_sqlite(args) -> None:
    from bayou.persistence.sqlite import SqlitePersistence

    with tempfile.TemporaryDirectory() as tmp:
        print(
            f"SQLite (WAL, synchronous=FULL), {args.accounts} accounts, concurrency {args.concurrency}"
        )
        db, ids = await bayou_setup(SqlitePersistence(Path(tmp) / "bayou.sqlite3"), args.accounts)
        raw = sqlite_setup(Path(tmp) / "raw.sqlite3", args.accounts)
        for name, alpha in (("transfer-uniform", 0.0), ("transfer-zipf", 1.5)):
            bayou = await bayou_run(db, ids, args, alpha)
            report(name, bayou, sqlite_run(raw, args.accounts, args.seconds, alpha))
        report("insert", await bayou_inserts(db, args), sqlite_inserts(raw, args.seconds))
        print(f"  (committer: {db.committer.commits} commits in {db.committer.batches} batches)")
        await db.close()
        raw.close()


async def run_postgres(args) -> None:
    from bayou.persistence.postgres import PostgresPersistence

    instance = f"bayou-bench-{uuid.uuid4().hex[:8]}"
    raw_name = f"raw_bench_{uuid.uuid4().hex[:8]}"
    print(f"PostgreSQL, {args.accounts} accounts, concurrency {args.concurrency}")
    db, ids = await bayou_setup(
        PostgresPersistence(args.postgres_url, instance, require_ssl=False), args.accounts
    )
    raw_url = await pg_raw_setup(args.postgres_url, raw_name, args.accounts)
    try:
        for name, alpha in (("transfer-uniform", 0.0), ("transfer-zipf", 1.5)):
            bayou = await bayou_run(db, ids, args, alpha)
            report(name, bayou, await pg_raw(raw_url, args.accounts, args, alpha))
        report(
            "insert",
            await bayou_inserts(db, args),
            await pg_raw(raw_url, args.accounts, args, None),
        )
        print(f"  (committer: {db.committer.commits} commits in {db.committer.batches} batches)")
    finally:
        await db.close()
        await pg_drop(args.postgres_url, instance.replace("-", "_"))
        await pg_drop(args.postgres_url, raw_name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args()
    if args.engine in ("sqlite", "both"):
        asyncio.run(run_sqlite(args))
    if args.engine in ("postgres", "both"):
        asyncio.run(run_postgres(args))


if __name__ == "__main__":
    sys.exit(main())
