"""Database fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import psycopg
import pytest

from bayou.database.database import Database
from bayou.persistence.base import Persistence
from bayou.persistence.sqlite import SqlitePersistence

CURSOR_KEY = b"k" * 32

PersistenceFactory = Callable[[], Persistence]


def drop_database(postgres_url: str, name: str) -> None:
    with psycopg.connect(postgres_url + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_persistence(engine: str, tmp_path: Path, request: pytest.FixtureRequest):
    """A factory of persistence objects that all point at this test's one store."""
    if engine == "sqlite":
        path = tmp_path / "db.sqlite3"
        yield lambda: SqlitePersistence(path)
        return
    from bayou.persistence.postgres import PostgresPersistence

    url = request.getfixturevalue("postgres_url")
    instance = f"bayou-test-{uuid.uuid4().hex[:12]}"
    yield lambda: PostgresPersistence(url, instance, require_ssl=False)
    drop_database(url, instance.replace("-", "_"))


@pytest.fixture
async def open_db(make_persistence) -> AsyncIterator[Callable[..., Awaitable[Database]]]:
    """Open databases on the test's store (several times, to test reopening); closes them all."""
    opened: list[Database] = []

    async def open_(**kwargs) -> Database:
        db = await Database.open(make_persistence(), cursor_key=CURSOR_KEY, **kwargs)
        opened.append(db)
        return db

    yield open_
    for db in opened:
        await db.close()


@pytest.fixture
async def db(open_db) -> Database:
    return await open_db()
