"""Child process for the crash test: commits pairs of documents until it is killed.

Each commit inserts two documents of one pair; the pair's number is printed only after the
commit is acknowledged. Usage: crash_child.py FIRST_PAIR sqlite PATH | FIRST_PAIR postgres URL INSTANCE
"""

from __future__ import annotations

import asyncio
import sys

from bayou.database.database import Database
from bayou.database.retry import run_transaction


def make_persistence(argv: list[str]):
    if argv[2] == "sqlite":
        from bayou.persistence.sqlite import SqlitePersistence

        return SqlitePersistence(argv[3])
    from bayou.persistence.postgres import PostgresPersistence

    return PostgresPersistence(argv[3], argv[4], require_ssl=False)


async def main(argv: list[str]) -> None:
    db = await Database.open(make_persistence(argv), cursor_key=b"k" * 32)
    counter = iter(range(int(argv[1]), 10**9))

    async def writer() -> None:
        while True:
            n = next(counter)

            async def insert_pair(tx, n=n) -> None:
                await tx.insert("pairs", {"pair": float(n), "half": 0.0, "pad": "x" * 2000})
                await tx.insert("pairs", {"pair": float(n), "half": 1.0, "pad": "y" * 2000})

            await run_transaction(db, insert_pair, retries=20)
            sys.stdout.write(f"{n}\n")
            sys.stdout.flush()

    print("ready", flush=True)
    await asyncio.gather(*(writer() for _ in range(8)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv))
