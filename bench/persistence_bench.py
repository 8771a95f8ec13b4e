"""Persistence hot paths, per engine: point reads, small commits, short index scans.

    .venv/bin/python bench/persistence_bench.py [--postgres-url URL] [--docs N] [--rounds N]

Loads `--docs` documents (each with one index entry, a third of them updated once so
that snapshots matter), then times, one call after another on one event loop:
  get_document       a point read of a random document at the latest snapshot
  get_documents x10  ten point reads in one call
  write 2+2          a commit of 2 document revisions and 2 index entries (durable)
  index_scan 10      a short ascending range scan returning 10 hits
SQLite runs with its default synchronous=FULL; PostgreSQL with synchronous_commit=on, in a
throwaway database that is dropped afterwards. Prints microseconds per call (median of
five batches).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bayou.persistence import (
    DocumentRevision,
    IndexEntry,
    MemoryPersistence,
    Persistence,
    SqlitePersistence,
)

TABLE = b"T" * 16
INDEX = b"I" * 16
BASE_TS = 1_700_000_000_000_000_000


def doc_id(n: int) -> bytes:
    return n.to_bytes(16, "big")


def index_key(n: int) -> bytes:
    # Shaped like a Convex sort key: a tagged string value, then the document id.
    return b"\x05" + f"user-{n:08d}".encode() + b"\x00" + doc_id(n)


async def load(store: Persistence, docs: int) -> int:
    """Fill the store; returns the last timestamp written."""
    ts = BASE_TS
    batch = 1000
    for start in range(0, docs, batch):
        ts += 1
        ids = range(start, min(start + batch, docs))
        await store.write(
            [DocumentRevision(TABLE, doc_id(n), ts, b'{"n":%d}' % n) for n in ids],
            [IndexEntry(INDEX, index_key(n), ts, TABLE, doc_id(n)) for n in ids],
        )
    for start in range(0, docs, 3 * batch):
        ts += 1
        ids = range(start, min(start + batch, docs))
        await store.write(
            [DocumentRevision(TABLE, doc_id(n), ts, b'{"n":%d,"u":1}' % n) for n in ids], []
        )
    return ts


async def timed(call: Callable[[int], Awaitable[object]], rounds: int) -> float:
    """Median microseconds per call over five batches of `rounds` calls."""
    samples = []
    for batch in range(5):
        began = time.perf_counter()
        for i in range(rounds):
            await call(batch * rounds + i)
        samples.append((time.perf_counter() - began) / rounds * 1e6)
    return statistics.median(samples)


async def bench(store: Persistence, docs: int, rounds: int) -> dict[str, float]:
    await store.open()
    try:
        ts = await load(store, docs)
        rng = random.Random(1)
        picks = [rng.randrange(docs) for _ in range(10 * rounds)]
        results = {}
        results["get_document"] = await timed(
            lambda i: store.get_document(TABLE, doc_id(picks[i]), ts), rounds
        )
        results["get_documents x10"] = await timed(
            lambda i: store.get_documents([(TABLE, doc_id(picks[i + k])) for k in range(10)], ts),
            rounds,
        )
        results["index_scan 10"] = await timed(
            lambda i: store.index_scan(INDEX, index_key(picks[i]), None, ts, "asc", 10), rounds
        )
        next_ts = [ts]

        async def commit(i: int) -> None:
            next_ts[0] += 1
            t = next_ts[0]
            a, b = docs + 2 * i, docs + 2 * i + 1
            await store.write(
                [
                    DocumentRevision(TABLE, doc_id(a), t, b'{"n":1}'),
                    DocumentRevision(TABLE, doc_id(b), t, b'{"n":2}'),
                ],
                [
                    IndexEntry(INDEX, index_key(a), t, TABLE, doc_id(a)),
                    IndexEntry(INDEX, index_key(b), t, TABLE, doc_id(b)),
                ],
            )

        results["write 2+2"] = await timed(commit, max(rounds // 4, 10))
        return results
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()

    table: dict[str, dict[str, float]] = {}
    table["memory"] = await bench(MemoryPersistence(), args.docs, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        table["sqlite"] = await bench(
            SqlitePersistence(Path(tmp) / "db.sqlite3"), args.docs, args.rounds
        )
    if not args.no_postgres:
        import psycopg
        from psycopg import sql

        from bayou.persistence.postgres import PostgresPersistence

        instance = f"bayou-bench-{secrets.token_hex(4)}"
        store = PostgresPersistence(args.postgres_url, instance, require_ssl=False)
        try:
            table["postgres"] = await bench(store, args.docs, args.rounds)
        finally:
            with psycopg.connect(args.postgres_url + "/postgres", autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(store.database)
                    )
                )

    engines = list(table)
    print(f"µs per call ({args.docs} documents loaded)")
    print(f"{'operation':<20}" + "".join(f"{e:>12}" for e in engines))
    for op in table[engines[0]]:
        print(f"{op:<20}" + "".join(f"{table[e][op]:>12.1f}" for e in engines))


if __name__ == "__main__":
    asyncio.run(main())
