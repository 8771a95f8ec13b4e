"""Imports in process, on SQLite and PostgreSQL: a replace swaps a table in one commit
(readers see all old or all new documents), a failure after some batches were written
leaves the table as it was and no hidden table behind, ids and creation times are kept."""

from __future__ import annotations

import asyncio
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from bayou.database.database import Database
from bayou.model.system_tables import SYSTEM_TABLES
from bayou.persistence.sqlite import SqlitePersistence
from bayou.snapshots import import_, parse
from bayou.snapshots.export import write_export


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        persistence = SqlitePersistence(tmp_path / "db.sqlite3")
        name = None
    else:
        from bayou.persistence.postgres import PostgresPersistence

        url = request.getfixturevalue("postgres_url")
        name = f"bayou-snap-{uuid.uuid4().hex[:10]}"
        persistence = PostgresPersistence(url, name, require_ssl=False)
    database = await Database.open(persistence, cursor_key=b"k" * 32, system_tables=SYSTEM_TABLES)
    yield database
    await database.close()
    if name is not None:
        with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name.replace("-", "_")}" WITH (FORCE)')


async def _fill(db: Database, table: str, n: int) -> None:
    tx = db.begin(limits=import_.UNLIMITED)
    for i in range(n):
        await tx.insert(table, {"i": float(i), "old": True})
    await db.commit(tx)


async def _docs(db: Database, table: str) -> list[dict]:
    tx = db.begin(read_only=True, limits=import_.UNLIMITED)
    if tx.table_for_read(table) is None:
        return []
    query = {
        "source": {"type": "FullTableScan", "tableName": table, "order": "asc"},
        "operators": [],
    }
    return [dict(d) for d in await tx.query(query).collect()]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


async def _import(db: Database, path: Path, fmt: str, table: str | None, mode: str) -> int:
    source = parse.open_source(path, fmt, table)
    try:
        written, _ = await import_.apply(db, source, mode)
    finally:
        source.close()
    return written


def _hidden(db: Database) -> list[str]:
    return [t.name for t in db.catalog.tables() if t.namespace.startswith(import_.STAGING_PREFIX)]


async def test_a_replace_swaps_the_table_in_one_commit(db: Database, tmp_path: Path) -> None:
    await _fill(db, "t", 300)
    path = _jsonl(tmp_path / "new.jsonl", [{"i": float(i), "new": True} for i in range(5000)])
    seen: set[int] = set()
    done = asyncio.Event()

    async def reader() -> None:
        while not done.is_set():
            seen.add(len(await _docs(db, "t")))
            await asyncio.sleep(0)

    watching = asyncio.create_task(reader())
    written = await _import(db, path, "jsonLines", "t", "replace")
    done.set()
    await watching
    assert written == 5000
    assert seen <= {300, 5000} and 300 in seen
    docs = await _docs(db, "t")
    assert len(docs) == 5000 and all(d.get("new") for d in docs)
    assert _hidden(db) == []


async def test_a_failure_after_some_batches_changes_nothing(db: Database, tmp_path: Path) -> None:
    await _fill(db, "t", 10)
    before = await _docs(db, "t")
    rows: list = [{"i": float(i)} for i in range(import_.BATCH * 2 + 5)]
    rows.append({"i": 1.0, "_bad": True})
    path = _jsonl(tmp_path / "bad.jsonl", rows)
    source = parse.open_source(path, "jsonLines", "t")
    with pytest.raises(parse.ImportError_, match=rf"Row {len(rows)} of table 't'"):
        await import_.apply(db, source, "replace")
    assert await _docs(db, "t") == before
    assert _hidden(db) == []


async def test_an_export_imports_with_ids_and_creation_times(db: Database, tmp_path: Path) -> None:
    await _fill(db, "a", 3)
    tx = db.begin()
    first = (await _docs(db, "a"))[0]
    await tx.insert("b", {"ref": first["_id"]})
    await db.commit(tx)
    await write_export(db, tmp_path / "e.zip", files=None)
    with zipfile.ZipFile(tmp_path / "e.zip") as zf:
        assert zf.read("b/generated_schema.jsonl") == b'"uniform"\n'
    a, b = await _docs(db, "a"), await _docs(db, "b")
    assert await _import(db, tmp_path / "e.zip", "zip", None, "replaceAll") == 4
    assert await _docs(db, "a") == a and await _docs(db, "b") == b
    assert _hidden(db) == []


async def test_require_empty_refuses_a_table_with_documents(db: Database, tmp_path: Path) -> None:
    await _fill(db, "t", 1)
    path = _jsonl(tmp_path / "x.jsonl", [{"i": 1.0}])
    with pytest.raises(parse.ImportError_, match="Table t already exists"):
        await _import(db, path, "jsonLines", "t", "requireEmpty")
    assert await _import(db, path, "jsonLines", "t", "append") == 1
    assert len(await _docs(db, "t")) == 2


async def test_a_replaced_table_keeps_its_search_index(db: Database, tmp_path: Path) -> None:
    from bayou.database.schema_change import apply_schema
    from tests.database.search.test_text_search import SEARCH_SCHEMA, bodies, insert_all, search

    await apply_schema(db, SEARCH_SCHEMA)
    await insert_all(db, {"body": "old words", "channel": "a"})
    path = _jsonl(tmp_path / "new.jsonl", [{"body": "fresh words", "channel": "a"}])
    assert await _import(db, path, "jsonLines", "messages", "replace") == 1
    table = db.catalog.table("messages")
    assert table.indexes["search_body"].kind == "search"
    assert await bodies(db, search("fresh")) == ["fresh words"]
    assert await bodies(db, search("old")) == []


async def _insert_in(db: Database, namespace: str, table: str, docs: list[dict]) -> None:
    tx = db.begin(namespace=namespace, limits=import_.UNLIMITED)
    for doc in docs:
        await tx.insert(table, doc)
    await db.commit(tx)


async def _docs_in(db: Database, namespace: str, table: str) -> list[dict]:
    tx = db.begin(namespace=namespace, read_only=True, limits=import_.UNLIMITED)
    if tx.table_for_read(table) is None:
        return []
    query = {
        "source": {"type": "FullTableScan", "tableName": table, "order": "asc"},
        "operators": [],
    }
    return [dict(d) for d in await tx.query(query).collect()]


async def test_components_export_under_components_and_import_into_their_namespaces(
    db: Database, tmp_path: Path
) -> None:
    await _insert_in(db, "", "items", [{"app": 1.0}])
    await _insert_in(db, "notes", "items", [{"note": "n1"}, {"note": "n2"}])
    await _insert_in(db, "pool/worker", "jobs", [{"job": float(i)} for i in range(3)])
    before = {
        key: await _docs_in(db, *key)
        for key in [("", "items"), ("notes", "items"), ("pool/worker", "jobs")]
    }
    await write_export(db, tmp_path / "e.zip", files=None, components=["empty"])
    with zipfile.ZipFile(tmp_path / "e.zip") as zf:
        names = zf.namelist()
    assert names[:5] == [
        "README.md",
        "_tables/documents.jsonl",
        "_components/empty/_tables/documents.jsonl",
        "_components/notes/_tables/documents.jsonl",
        "_components/pool/_components/worker/_tables/documents.jsonl",
    ]
    assert "_components/notes/items/documents.jsonl" in names
    assert "_components/pool/_components/worker/jobs/generated_schema.jsonl" in names
    # Into the same database, replacing everything: every component's tables come back.
    await _insert_in(db, "notes", "items", [{"note": "extra"}])
    await _insert_in(db, "notes", "gone", [{"x": 1.0}])
    assert await _import(db, tmp_path / "e.zip", "zip", None, "replaceAll") == 6
    for key, docs in before.items():
        assert await _docs_in(db, *key) == docs, key
    assert await _docs_in(db, "notes", "gone") == []  # replaceAll reaches components too
    assert _hidden(db) == []


async def test_an_import_reads_the_file_once(db: Database, tmp_path: Path) -> None:
    n = import_.BATCH + 10
    path = _jsonl(tmp_path / "once.jsonl", [{"i": float(i)} for i in range(n)])
    source = parse.open_source(path, "jsonLines", "t")
    [table] = source.tables
    rows = table.rows
    yielded = 0

    def counted():  # type: ignore[no-untyped-def]
        nonlocal yielded
        for row in rows():
            yielded += 1
            yield row

    table.rows = counted
    staged = await import_.stage(db, source, "requireEmpty")
    assert staged.counts == {("", "t"): n}
    assert "t | 2010 | 0 of 0" in staged.plan.message
    assert await _docs(db, "t") == []  # nothing visible before the confirmation
    written, _ = await import_.finish(db, staged)
    assert written == n and len(await _docs(db, "t")) == n
    assert yielded <= n + 1  # one pass (and a peek at the first row for its table number)
    assert _hidden(db) == []


async def test_a_discarded_import_leaves_nothing(db: Database, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "x.jsonl", [{"i": 1.0}])
    source = parse.open_source(path, "jsonLines", "t", "notes")
    staged = await import_.stage(db, source, "replace")
    assert _hidden(db) == ["t"]
    await import_.discard(db, staged)
    assert _hidden(db) == [] and await _docs_in(db, "notes", "t") == []


async def test_an_append_with_a_bad_row_imports_nothing(db: Database, tmp_path: Path) -> None:
    await _fill(db, "t", 5)
    rows: list = [{"i": float(i)} for i in range(import_.BATCH + 3)] + [[1]]
    path = _jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(parse.ImportError_, match=rf"Row {len(rows)} wasn't an object"):
        await _import(db, path, "jsonLines", "t", "append")
    assert len(await _docs(db, "t")) == 5
    assert _hidden(db) == []
    good = _jsonl(tmp_path / "good.jsonl", [{"i": 9.0}])
    assert await _import(db, good, "jsonLines", "t", "append") == 1
    assert len(await _docs(db, "t")) == 6


async def test_a_table_imports_into_a_component(db: Database, tmp_path: Path) -> None:
    await _insert_in(db, "", "t", [{"app": True}])
    path = _jsonl(tmp_path / "c.jsonl", [{"i": 1.0}, {"i": 2.0}])
    source = parse.open_source(path, "jsonLines", "t", "notes")
    try:
        assert (await import_.apply(db, source, "requireEmpty"))[0] == 2
    finally:
        source.close()
    assert [d["i"] for d in await _docs_in(db, "notes", "t")] == [1.0, 2.0]
    assert len(await _docs(db, "t")) == 1  # the app's own table is untouched
