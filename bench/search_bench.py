"""Benchmark: text search and vector search (issue 16), each against the library used
directly in the same run.

Text (Bayou's database over SQLite, in process):
  build      N short documents (8 words from a Zipf vocabulary of 5,000) inserted, then a
             search index added by a schema change: the backfill time
  queries    2-term queries (the last one a prefix) `take(10)` in read-only transactions,
             one at a time: queries/s
  baseline   the same documents in an SQLite FTS5 table (`MATCH 'a OR b*' ORDER BY bm25
             LIMIT 10`): build time and queries/s

Vector:
  cache      V vectors of D dimensions in Bayou's vector cache (what ctx.vectorSearch
             scores against): search p50/p99 at limit 10, and recall@10 against a float64
             brute force; baseline: numpy float32 brute force over a plain matrix
  end to end `vector_search()` on a database holding E vector documents: first search
             (loads the cache), then p50/p99

    python bench/search_bench.py                       # 100k docs, 100k x 1536 vectors
    python bench/search_bench.py --docs 1000000 --vectors 0
    python bench/search_bench.py --docs 20000 --vectors 20000 --e2e 2000   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bayou.database.catalog import IndexInfo
from bayou.database.database import Database
from bayou.database.schema_change import apply_schema
from bayou.database.search.vector_query import vector_search
from bayou.database.search.vectors import VectorCache
from bayou.persistence.sqlite import SqlitePersistence

WORDS = 5000
BATCH = 1000


def vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < WORDS:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    return sorted(words)


def documents(n: int, rng: random.Random, vocab: list[str]) -> list[str]:
    weights = [1 / (i + 1) for i in range(len(vocab))]
    return [" ".join(rng.choices(vocab, weights, k=8)) for _ in range(n)]


def queries(n: int, rng: random.Random, vocab: list[str]) -> list[str]:
    # Mid-frequency words: the head of a Zipf vocabulary matches a third of the corpus.
    return [f"{rng.choice(vocab[50:2000])} {rng.choice(vocab[50:2000])[:3]}" for _ in range(n)]


def schema(kind: str, dims: int = 0) -> dict:
    table: dict = {"tableName": "docs", "indexes": [], "documentType": None}
    if kind == "search":
        table["searchIndexes"] = [
            {"indexDescriptor": "search_body", "searchField": "body", "filterFields": []}
        ]
    else:
        table["vectorIndexes"] = [
            {
                "indexDescriptor": "by_vector",
                "vectorField": "vector",
                "dimensions": dims,
                "filterFields": [],
            }
        ]
    return {"tables": [table], "schemaValidation": False}


async def bench_text(n: int, seconds: float, rng: random.Random) -> None:
    vocab = vocabulary(rng)
    docs = documents(n, rng, vocab)
    qs = queries(2000, rng, vocab)
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(SqlitePersistence(Path(tmp) / "db.sqlite3"), cursor_key=b"k" * 32)
        try:
            t0 = time.perf_counter()
            for i in range(0, n, BATCH):
                tx = db.begin()
                for body in docs[i : i + BATCH]:
                    await tx.insert("docs", {"body": body})
                await db.commit(tx)
            inserted = time.perf_counter() - t0
            t0 = time.perf_counter()
            await apply_schema(db, schema("search"))
            built = time.perf_counter() - t0
            done, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                q = qs[done % len(qs)]
                query = {
                    "source": {
                        "type": "Search",
                        "indexName": "docs.search_body",
                        "filters": [{"type": "Search", "fieldPath": "body", "value": q}],
                    },
                    "operators": [{"limit": 10}],
                }
                await db.begin(read_only=True).query(query).collect()
                done += 1
            qps = done / (time.perf_counter() - t0)
        finally:
            await db.close()
    conn = sqlite3.connect(":memory:")
    t0 = time.perf_counter()
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(body)")
    conn.executemany("INSERT INTO f(body) VALUES (?)", [(d,) for d in docs])
    conn.commit()
    fts_built = time.perf_counter() - t0
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a, b = qs[done % len(qs)].split()
        conn.execute(
            "SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT 10", (f"{a} OR {b}*",)
        ).fetchall()
        done += 1
    fts_qps = done / (time.perf_counter() - t0)
    print(f"text search, {n:,} documents of 8 words")
    print(f"  insert (no search index)   {inserted:8.1f} s")
    print(f"  search index backfill      {built:8.1f} s   FTS5 build {fts_built:6.1f} s")
    print(
        f"  queries/s (take 10)        {qps:8.0f}     FTS5 {fts_qps:8.0f}   ratio {qps / fts_qps:.2f}"
    )


def bench_vector_cache(v: int, dims: int, rng: np.random.Generator) -> None:
    data = rng.standard_normal((v, dims), dtype=np.float32)
    index = IndexInfo(b"i" * 16, b"t" * 16, "by_vector", ("vector",), "vector", dimensions=dims)
    cache = VectorCache.empty(index, b"t" * 16)
    t0 = time.perf_counter()
    for i in range(v):
        cache.put(i.to_bytes(16, "big"), {"_id": str(i), "vector": data[i].tolist()})
    loaded = time.perf_counter() - t0
    unit64 = data.astype(np.float64)
    unit64 /= np.linalg.norm(unit64, axis=1, keepdims=True)
    plain = data / np.linalg.norm(data, axis=1, keepdims=True)
    ours, base, hits = [], [], 0
    queries = rng.standard_normal((50, dims), dtype=np.float32)
    for q in queries:
        q = q / np.linalg.norm(q)
        t0 = time.perf_counter()
        got = cache.search(q, 10, None)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        s = plain @ q
        top = np.argpartition(-s, 9)[:10]
        top[np.argsort(-s[top])]
        base.append(time.perf_counter() - t0)
        truth = set(np.argsort(-(unit64 @ q.astype(np.float64)))[:10].tolist())
        hits += len(truth & {int(r["_id"]) for r in got})
    recall = hits / (10 * len(queries))
    print(f"vector cache, {v:,} x {dims}")
    print(f"  load                       {loaded:8.1f} s")
    print(
        f"  search p50/p99             {_ms(ours, 50):6.1f} / {_ms(ours, 99):6.1f} ms"
        f"   numpy brute force {_ms(base, 50):6.1f} / {_ms(base, 99):6.1f} ms"
    )
    print(f"  recall@10 vs float64       {recall:8.3f}")


async def bench_vector_e2e(e: int, dims: int, rng: np.random.Generator) -> None:
    data = rng.standard_normal((e, dims)).tolist()
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(SqlitePersistence(Path(tmp) / "db.sqlite3"), cursor_key=b"k" * 32)
        try:
            await apply_schema(db, schema("vector", dims))
            t0 = time.perf_counter()
            for i in range(0, e, 100):
                tx = db.begin()
                for vec in data[i : i + 100]:
                    await tx.insert("docs", {"vector": vec})
                await db.commit(tx)
            inserted = time.perf_counter() - t0
            q = {"indexName": "docs.by_vector", "vector": data[0], "limit": 10}
            t0 = time.perf_counter()
            await vector_search(db, q)
            first = time.perf_counter() - t0
            times = []
            for i in range(50):
                q["vector"] = data[i]
                t0 = time.perf_counter()
                await vector_search(db, q)
                times.append(time.perf_counter() - t0)
        finally:
            await db.close()
    print(f"vector search end to end, {e:,} x {dims} documents on SQLite")
    print(f"  insert                     {inserted:8.1f} s")
    print(f"  first search (loads cache) {first:8.2f} s")
    print(f"  search p50/p99             {_ms(times, 50):6.1f} / {_ms(times, 99):6.1f} ms")


def _ms(samples: list[float], pct: int) -> float:
    ordered = sorted(samples)
    return 1000 * ordered[min(len(ordered) - 1, len(ordered) * pct // 100)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=1536)
    parser.add_argument("--e2e", type=int, default=5_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.docs:
        asyncio.run(bench_text(args.docs, args.seconds, random.Random(16)))
    if args.vectors:
        bench_vector_cache(args.vectors, args.dims, np.random.default_rng(16))
    if args.e2e:
        asyncio.run(bench_vector_e2e(args.e2e, args.dims, np.random.default_rng(17)))


if __name__ == "__main__":
    main()
