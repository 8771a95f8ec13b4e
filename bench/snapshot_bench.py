"""Benchmark: snapshot export and import throughput (documents/s, MB/s) against the raw
SQLite baseline (`.dump` of the same database, through Python's sqlite3 `iterdump`), in
one run, with the resident memory of each phase (issue 17).

In process, on SQLite in a temporary directory:
  load      N small documents ({"n": i, "name": "…", "tags": [...]}) in transactions of 5,000
  export    `write_export` of the whole database to a ZIP (the `npx convex export` path)
  dump      `sqlite3` `.dump` of the same database file (the baseline); with
            `--postgres URL`, both databases on PostgreSQL and `COPY … TO STDOUT` instead
  import    the ZIP read once (each row parsed, checked and written into hidden tables),
            then swapped in by one commit (the `npx convex import` path after the upload)

MB/s counts the documents' JSON text (the ZIP's uncompressed size) for export and import,
the SQL text for the dump. Memory is the process's resident set sampled every 50 ms: flat for the export (pages of
1,000 documents), proportional to the data for the import (one commit holds it).

    python bench/snapshot_bench.py                # 1,000,000 documents
    python bench/snapshot_bench.py --docs 100000
    python bench/snapshot_bench.py --docs 100000 --postgres postgresql://postgres@127.0.0.1:5432

With `--postgres`, one run measures SQLite (against `.dump`) and then PostgreSQL (against
`COPY`); the load average (`/proc/loadavg`) is printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from bayou.database.database import Database
from bayou.model.system_tables import SYSTEM_TABLES
from bayou.persistence.sqlite import SqlitePersistence
from bayou.snapshots import import_, parse
from bayou.snapshots.export import write_export

BATCH = 5_000
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_SIZE / 1e6


class Peak:
    """The highest resident set size seen while the block runs, sampled in a thread."""

    def __enter__(self) -> Peak:
        self.start = rss_mb()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())

    @property
    def growth(self) -> float:
        return self.peak - self.start


POSTGRES_URL: str | None = None  # set by --postgres: both databases on PostgreSQL


def _database_name(path: Path) -> str:
    return f"bayou-bench-{path.parent.name[-8:].lower()}-{path.stem}".replace("_", "-")


async def open_db(path: Path) -> Database:
    if POSTGRES_URL is None:
        persistence = SqlitePersistence(path)
    else:
        from bayou.persistence.postgres import PostgresPersistence

        persistence = PostgresPersistence(POSTGRES_URL, _database_name(path), require_ssl=False)
    return await Database.open(persistence, cursor_key=b"k" * 32, system_tables=SYSTEM_TABLES)


def baseline_dump(path: Path, out_path: Path) -> str:
    """The raw dump of the engine: SQLite's `.dump`, PostgreSQL's `COPY … TO STDOUT`."""
    if POSTGRES_URL is None:
        with sqlite3.connect(path) as conn, out_path.open("w") as out:
            for statement in conn.iterdump():
                out.write(statement + "\n")
        return "dump"
    import psycopg

    database = _database_name(path).replace("-", "_")
    with psycopg.connect(f"{POSTGRES_URL}/{database}") as conn, out_path.open("wb") as out:
        for table in ("documents", "indexes"):
            with conn.cursor().copy(f"COPY {table} TO STDOUT") as copy:
                for data in copy:
                    out.write(data)
    return "COPY"


def drop_databases(paths: list[Path]) -> None:
    if POSTGRES_URL is None:
        return
    import psycopg

    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
        for path in paths:
            name = _database_name(path).replace("-", "_")
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def load(db: Database, docs: int) -> None:
    for start in range(0, docs, BATCH):
        tx = db.begin(limits=import_.UNLIMITED)
        for i in range(start, min(docs, start + BATCH)):
            await tx.insert("items", {"n": float(i), "name": f"item {i}", "tags": ["a", "b"]})
        await db.commit(tx)


def line(what: str, docs: int, seconds: float, size: int, peak: Peak | None = None) -> str:
    memory = f"  RSS +{peak.growth:6.0f} MB" if peak is not None else ""
    return (
        f"{what:<8} {seconds:7.2f} s  {docs / seconds:10,.0f} docs/s  "
        f"{size / 1e6 / seconds:7.1f} MB/s{memory}"
    )


async def main(docs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = await open_db(work / "db.sqlite3")
        started = time.perf_counter()
        await load(db, docs)
        print(f"load     {time.perf_counter() - started:7.2f} s  ({docs:,} documents)")

        zip_path = work / "export.zip"
        with Peak() as peak:
            started = time.perf_counter()
            result = await write_export(db, zip_path, files=None)
            seconds = time.perf_counter() - started
        with zipfile.ZipFile(zip_path) as zf:
            json_size = sum(i.file_size for i in zf.infolist())  # documents as JSON text
        print(
            line("export", docs, seconds, json_size, peak)
            + f"  JSON {json_size / 1e6:.1f} MB, ZIP {result.size / 1e6:.1f} MB"
        )
        await db.close()

        dump_path = work / "dump.sql"
        started = time.perf_counter()
        what = baseline_dump(work / "db.sqlite3", dump_path)
        seconds = time.perf_counter() - started
        dump_size = dump_path.stat().st_size
        print(line(what, docs, seconds, dump_size) + f"  raw {dump_size / 1e6:.1f} MB")

        target = await open_db(work / "target.sqlite3")
        with Peak() as peak:
            started = time.perf_counter()
            source = parse.open_source(zip_path, "zip", None)
            written, _ = await import_.apply(target, source, "requireEmpty")
            source.close()
            seconds = time.perf_counter() - started
        assert written == docs, (written, docs)
        print(line("import", docs, seconds, json_size, peak))
        await target.close()
        drop_databases([work / "db.sqlite3", work / "target.sqlite3"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres", metavar="URL", help="use PostgreSQL (server URL without a database)"
    )
    arguments = parser.parse_args()
    print(f"load average before: {load_average()}")
    for url in [None, *([arguments.postgres] if arguments.postgres else [])]:
        POSTGRES_URL = url
        print(f"-- {'PostgreSQL' if url else 'SQLite'}, {arguments.docs:,} documents")
        asyncio.run(main(arguments.docs))
    print(f"load average after:  {load_average()}")
