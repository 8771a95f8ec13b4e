"""The raw baseline of bench/http_transfer.py: the transfer as plain SQLite statements behind
the same HTTP server as Bayou (starlette + uvicorn with httptools and uvloop).

`POST /api/mutation` takes the body Bayou's function API takes
(`{"path": "bank:transfer", "args": {"from", "to", "amount"}, "format"}`) and, in one
SQLite transaction, reads both accounts and writes both balances — at Bayou's durability
(WAL, synchronous=FULL: each commit is on disk before the answer). SQLite has one writer,
so statements run on the event loop's thread, one transaction at a time: its best case.

    python bench/raw_sqlite_server.py --db /tmp/raw.sqlite3 --port 3400 --accounts 10000 \\
        --ids-out /tmp/raw-ids.txt
"""

from __future__ import annotations

import argparse
import secrets
import sqlite3
from pathlib import Path

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SUCCESS = orjson.dumps({"status": "success", "value": None})


def open_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, n INTEGER, balance REAL)"
    )
    return conn


def seed(conn: sqlite3.Connection, accounts: int) -> list[str]:
    """`accounts` accounts with balance 1000 and Convex-like 32-character ids."""
    ids = [secrets.token_hex(16) for _ in range(accounts)]
    conn.execute("BEGIN")
    conn.execute("DELETE FROM accounts")
    conn.executemany(
        "INSERT INTO accounts (id, n, balance) VALUES (?, ?, 1000.0)",
        [(id, n) for n, id in enumerate(ids)],
    )
    conn.execute("COMMIT")
    return ids


def make_app(conn: sqlite3.Connection) -> Starlette:
    def transfer(source: str, target: str, amount: float) -> bool:
        conn.execute("BEGIN IMMEDIATE")
        try:
            a = conn.execute("SELECT balance FROM accounts WHERE id = ?", (source,)).fetchone()
            b = conn.execute("SELECT balance FROM accounts WHERE id = ?", (target,)).fetchone()
            if a is None or b is None:
                conn.execute("ROLLBACK")
                return False
            conn.execute("UPDATE accounts SET balance = ? WHERE id = ?", (a[0] - amount, source))
            conn.execute("UPDATE accounts SET balance = ? WHERE id = ?", (b[0] + amount, target))
            conn.execute("COMMIT")
            return True
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def mutation(request: Request) -> Response:
        body = orjson.loads(await request.body())
        args = body["args"]
        if not transfer(args["from"], args["to"], float(args["amount"])):
            error = {"status": "error", "errorMessage": "no such account"}
            return Response(orjson.dumps(error), media_type="application/json")
        return Response(SUCCESS, media_type="application/json")

    async def query(request: Request) -> Response:
        total = conn.execute("SELECT SUM(balance) FROM accounts").fetchone()[0]
        return Response(
            orjson.dumps({"status": "success", "value": total}), media_type="application/json"
        )

    async def version(request: Request) -> Response:
        return Response(b"raw-sqlite")

    return Starlette(
        routes=[
            Route("/api/mutation", mutation, methods=["POST"]),
            Route("/api/query", query, methods=["POST"]),
            Route("/version", version, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--ids-out", type=Path, required=True)
    args = parser.parse_args()
    conn = open_db(args.db)
    args.ids_out.write_text("\n".join(seed(conn, args.accounts)) + "\n")
    # The settings `bayou serve` gives uvicorn.
    uvicorn.run(
        make_app(conn),
        host="127.0.0.1",
        port=args.port,
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
