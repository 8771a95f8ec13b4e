"""Fixtures that run one test against every persistence engine.

`engine` is parametrized over memory, SQLite (a file in tmp_path) and PostgreSQL (a
database of its own per test, created by the engine's `open` and dropped afterwards).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bayou.persistence import MemoryPersistence, Persistence, SqlitePersistence
from bayou.persistence.postgres_connection import database_name

ENGINES = ("memory", "sqlite", "postgres")


@dataclass
class Engine:
    """An engine under test: `make()` gives a new, unopened object on the same storage."""

    name: str
    make: Callable[[], Persistence]


def drop_database(server_url: str, database: str) -> None:
    """Drop `database`, ending any sessions a failed test left behind."""
    with psycopg.connect(server_url + "/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


@pytest.fixture
def pg_instance(postgres_url: str) -> Iterator[str]:
    """A fresh instance name on the test server; its database is dropped afterwards."""
    name = f"bayou-test-{secrets.token_hex(5)}"
    yield name
    drop_database(postgres_url, database_name(name))


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "memory":
        memory = MemoryPersistence()  # "reopening" memory means opening the same object
        return Engine("memory", lambda: memory)
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite3"
        return Engine("sqlite", lambda: SqlitePersistence(path))
    from bayou.persistence.postgres import PostgresPersistence

    url = request.getfixturevalue("postgres_url")
    instance = request.getfixturevalue("pg_instance")
    return Engine("postgres", lambda: PostgresPersistence(url, instance, require_ssl=False))


@pytest.fixture
async def store(engine: Engine) -> AsyncIterator[Persistence]:
    """An opened store of the engine under test, closed afterwards."""
    persistence = engine.make()
    await persistence.open()
    try:
        yield persistence
    finally:
        await persistence.close()


@pytest.fixture
def icu_instance(postgres_url: str) -> Iterator[str]:
    """An instance whose database collates text by ICU's en-US rules, not bytewise."""
    name = f"bayou-icu-{secrets.token_hex(4)}"
    db = database_name(name)
    with psycopg.connect(postgres_url + "/postgres", autocommit=True) as conn:
        try:
            conn.execute(
                sql.SQL(
                    "CREATE DATABASE {} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
                ).format(sql.Identifier(db))
            )
        except psycopg.Error as exc:
            pytest.skip(f"this server cannot create an ICU database: {exc}")
    yield name
    drop_database(postgres_url, db)
