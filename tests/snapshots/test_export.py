"""Exports in process: one consistent snapshot while writes go on, Convex's layout."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path

from bayou.database.database import Database
from bayou.model.system_tables import SYSTEM_TABLES
from bayou.persistence.sqlite import SqlitePersistence
from bayou.snapshots import import_
from bayou.snapshots.export import write_export


async def test_an_export_is_one_snapshot_while_writes_go_on(tmp_path: Path) -> None:
    db = await Database.open(
        SqlitePersistence(tmp_path / "db.sqlite3"),
        cursor_key=b"k" * 32,
        system_tables=SYSTEM_TABLES,
    )
    try:
        tx = db.begin(limits=import_.UNLIMITED)
        for i in range(5000):
            await tx.insert("big", {"i": float(i)})
        await tx.insert("small", {"i": 0.0})
        await db.commit(tx)
        snapshot_ts = db.latest_ts
        writing = True

        async def writer() -> int:
            n = 0
            while writing:
                tx = db.begin()
                await tx.insert("big", {"i": -1.0})
                await tx.insert("small", {"i": -1.0})
                await db.commit(tx)
                n += 1
                await asyncio.sleep(0)
            return n

        task = asyncio.create_task(writer())
        await asyncio.sleep(0.05)
        result = await write_export(db, tmp_path / "e.zip", files=None, ts=snapshot_ts)
        writing = False
        assert await task > 0
    finally:
        await db.close()
    assert result.documents == {"small": 1, "big": 5000}
    with zipfile.ZipFile(tmp_path / "e.zip") as zf:
        assert zf.namelist() == [
            "README.md",
            "_tables/documents.jsonl",
            "small/documents.jsonl",
            "small/generated_schema.jsonl",
            "big/documents.jsonl",
            "big/generated_schema.jsonl",
        ]
        rows = [json.loads(line) for line in zf.read("big/documents.jsonl").splitlines()]
    assert len(rows) == 5000 and all(r["i"] >= 0 for r in rows)
