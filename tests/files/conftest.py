"""A database (SQLite, Bayou's system tables) and a deployment's files over a memory or a
local blob store, with a clock the test moves; the collector does not run by itself
(tests call `collect_due()`) unless a test starts it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bayou.blobs import BlobStore, LocalBlobStore, MemoryBlobStore
from bayou.database.database import Database
from bayou.files import fingerprint
from bayou.files.collector import BlobCollector
from bayou.files.service import FileStorage
from bayou.model.system_tables import SYSTEM_TABLES
from bayou.persistence.sqlite import SqlitePersistence
from tests.blobs.moto_server import MotoServer

SECRET = bytes(range(32))
INSTANCE = "files-test"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with MotoServer.start(tmp_path_factory.mktemp("moto")) as server:
        yield server


async def open_database(path: Path) -> Database:
    return await Database.open(
        SqlitePersistence(path), cursor_key=b"k" * 32, system_tables=SYSTEM_TABLES
    )


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database on SQLite and on PostgreSQL (a database of its own, dropped after)."""
    if request.param == "sqlite":
        database = await open_database(tmp_path / "db.sqlite3")
    else:
        from bayou.persistence.postgres import PostgresPersistence
        from tests.database.conftest import drop_database

        url = request.getfixturevalue("postgres_url")
        instance = f"bayou-files-{secrets.token_hex(5)}"
        request.addfinalizer(lambda: drop_database(url, instance.replace("-", "_")))
        database = await Database.open(
            PostgresPersistence(url, instance, require_ssl=False),
            cursor_key=b"k" * 32,
            system_tables=SYSTEM_TABLES,
        )
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "memory":
        return MemoryBlobStore()
    return LocalBlobStore(tmp_path / "storage" / "files")


async def attached(db: Database, store: BlobStore, clock: Clock) -> FileStorage:
    """A deployment's files, set up as `FileStorage.start` does, without the loop."""
    files = FileStorage(
        db, store, secret=SECRET, instance_name=INSTANCE, origin="http://b.test", clock=clock
    )
    await store.open()
    files.prefix = await fingerprint.attach(db, store, INSTANCE)
    files.collector = BlobCollector(db, store, files.prefix, clock=clock)
    return files


@pytest.fixture
async def files(db: Database, store: BlobStore, clock: Clock) -> FileStorage:
    return await attached(db, store, clock)
