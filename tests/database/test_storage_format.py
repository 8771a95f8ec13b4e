"""Bayou's on-disk format is versioned and migrated at open: a database of an older format
is brought up to date one logged, atomic migration at a time (the format-1 data directory
of tests/compat/data_dirs, on SQLite and copied into PostgreSQL), a migration cut short
runs again at the next open, and a database written by a newer Bayou is refused with a
message that says what to do, and nothing in it is changed."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from pathlib import Path

import pytest

from bayou.database.database import Database
from bayou.database.migrations import FORMAT, MIGRATIONS, Migration
from bayou.database.transaction import Transaction
from bayou.errors import InternalError
from bayou.model.system_tables import SYSTEM_TABLES
from bayou.persistence.base import DocumentRevision, IndexEntry
from tests.database.conftest import CURSOR_KEY

FORMAT_1 = Path(__file__).parents[1] / "compat" / "data_dirs" / "format-1" / "db.sqlite3"


async def _globals(make_persistence) -> dict:
    persistence = make_persistence()
    await persistence.open()
    try:
        return await persistence.load_globals()
    finally:
        await persistence.close()


async def _open(make_persistence, **kwargs) -> Database:
    return await Database.open(
        make_persistence(), cursor_key=CURSOR_KEY, system_tables=SYSTEM_TABLES, **kwargs
    )


async def _exports(db: Database) -> list[dict]:
    query = {
        "source": {"type": "FullTableScan", "tableName": "_exports", "order": "asc"},
        "operators": [],
    }
    return [dict(d) for d in await db.begin(read_only=True).query(query, system=True).collect()]


async def _format_1_database(make_persistence) -> None:
    """A database as Bayou 0.1.0 left it: format 1, an export row without `zip_storage`."""
    db = await _open(make_persistence, migrations=())
    tx = db.begin()
    await tx.insert("_exports", {"state": "completed", "zip_object_key": "k"}, system=True)
    tx.globals = {"format": 1}
    await db.commit(tx)
    await db.close()


async def test_a_fresh_database_is_written_at_the_current_format(make_persistence) -> None:
    db = await _open(make_persistence)
    await db.close()
    assert (await _globals(make_persistence))["format"] == FORMAT == 2


async def test_an_older_database_is_migrated_at_open_with_a_log_line_per_step(
    make_persistence, caplog: pytest.LogCaptureFixture
) -> None:
    await _format_1_database(make_persistence)
    with caplog.at_level(logging.INFO, logger="bayou.database"):
        db = await _open(make_persistence)
    try:
        assert [d["zip_storage"] for d in await _exports(db)] == ["local"]
    finally:
        await db.close()
    assert (await _globals(make_persistence))["format"] == 2
    messages = [r.getMessage() for r in caplog.records]
    assert f"executing migration 2/2: {MIGRATIONS[0].description}" in messages
    assert "on-disk format up to date at 2" in messages


async def test_a_migration_cut_short_runs_again_at_the_next_open(make_persistence) -> None:
    await _format_1_database(make_persistence)

    async def crashing(tx: Transaction) -> None:
        await MIGRATIONS[0].run(tx)  # its writes are buffered, then the process "dies"
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        await _open(make_persistence, migrations=(Migration(2, "crashes", crashing),))
    assert (await _globals(make_persistence))["format"] == 1
    untouched = await _open(make_persistence, migrations=())
    try:
        assert [d.get("zip_storage") for d in await _exports(untouched)] == [None]
    finally:
        await untouched.close()
    db = await _open(make_persistence)
    try:
        assert [d["zip_storage"] for d in await _exports(db)] == ["local"]
    finally:
        await db.close()
    assert (await _globals(make_persistence))["format"] == 2


async def test_a_database_from_a_newer_bayou_is_refused(make_persistence) -> None:
    db = await Database.open(make_persistence(), cursor_key=CURSOR_KEY)
    await db.persistence.write([], [], {"format": FORMAT + 1})
    await db.close()
    with pytest.raises(InternalError) as refused:
        await Database.open(make_persistence(), cursor_key=CURSOR_KEY)
    assert refused.value.code == "DatabaseFromNewerBayou"
    assert f"written by a newer Bayou (on-disk format {FORMAT + 1}" in refused.value.message
    assert f"reads formats 1 to {FORMAT}" in refused.value.message
    assert "upgrade Bayou" in refused.value.message
    assert (await _globals(make_persistence))["format"] == FORMAT + 1


async def test_a_database_of_this_format_opens_again(make_persistence) -> None:
    db = await Database.open(make_persistence(), cursor_key=CURSOR_KEY)
    tx = db.begin()
    await tx.insert("kept", {"n": 1.0})
    await db.commit(tx)
    await db.close()
    again = await Database.open(make_persistence(), cursor_key=CURSOR_KEY)
    try:
        assert again.catalog.table("kept") is not None
    finally:
        await again.close()


async def test_the_format_1_data_directory_opens_on_either_engine(
    make_persistence, tmp_path: Path
) -> None:
    """The checked-in database of Bayou 0.1.0, row for row in this test's store."""
    copy = tmp_path / "db.sqlite3"  # never the fixture itself: SQLite writes beside it
    shutil.copyfile(FORMAT_1, copy)
    with sqlite3.connect(copy) as fixture:
        documents = [
            DocumentRevision(bytes(t), bytes(i), ts, None if v is None else bytes(v), prev)
            for t, i, ts, v, prev in fixture.execute(
                "SELECT table_id, id, ts, json_value, prev_ts FROM documents"
            )
        ]
        indexes = [
            IndexEntry(bytes(ix), bytes(k), ts, bytes(t), None if d is None else bytes(d))
            for ix, k, ts, t, d in fixture.execute(
                "SELECT index_id, key, ts, table_id, document_id FROM indexes"
            )
        ]
        rows = fixture.execute(
            "SELECT key, json_value FROM persistence_globals WHERE key != '_max_ts'"
        )
        globals_ = {key: json.loads(value) for key, value in rows}
    assert globals_["format"] == 1
    persistence = make_persistence()
    await persistence.open()
    await persistence.write(documents, indexes, globals_)
    await persistence.close()
    db = await _open(make_persistence)
    try:
        notes = db.catalog.table("notes")
        assert notes is not None
        [doc] = (
            await db.begin(read_only=True)
            .query(
                {
                    "source": {"type": "FullTableScan", "tableName": "notes", "order": "asc"},
                    "operators": [],
                }
            )
            .collect()
        )
        assert doc["text"] == "written by Bayou 0.1.0"
    finally:
        await db.close()
    assert (await _globals(make_persistence))["format"] == FORMAT
