"""Persistence: the `Persistence` interface and its engines (SQLite, PostgreSQL, memory).

`open_persistence` picks the engine from the settings: PostgreSQL when a server URL is
given, else SQLite at `<data_dir>/db.sqlite3`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bayou.persistence.base import DocumentRevision, IndexEntry, IndexHit, Order, Persistence
from bayou.persistence.memory import MemoryPersistence
from bayou.persistence.sqlite import SqlitePersistence

if TYPE_CHECKING:
    from bayou.persistence.postgres import PostgresPersistence

__all__ = [
    "DocumentRevision",
    "IndexEntry",
    "IndexHit",
    "MemoryPersistence",
    "Order",
    "Persistence",
    "PostgresPersistence",
    "SqlitePersistence",
    "open_persistence",
]

SQLITE_FILE_NAME = "db.sqlite3"


def __getattr__(name: str) -> Any:
    # psycopg takes ~0.1 s to import: only processes that use PostgreSQL pay for it.
    if name == "PostgresPersistence":
        from bayou.persistence.postgres import PostgresPersistence

        return PostgresPersistence
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_persistence(
    *, data_dir: Path, postgres_url: str | None, instance_name: str, require_ssl: bool
) -> Persistence:
    """The engine the settings select, not yet opened: the caller awaits `open()`.

    `postgres_url` (POSTGRES_URL) names a server without a database; the database is named
    after `instance_name`. `require_ssl` is False when DO_NOT_REQUIRE_SSL is set.
    Raises `BadRequest` at once for an unusable URL, before any connection is attempted.
    """
    if postgres_url:
        from bayou.persistence.postgres import PostgresPersistence

        return PostgresPersistence(postgres_url, instance_name, require_ssl=require_ssl)
    return SqlitePersistence(Path(data_dir) / SQLITE_FILE_NAME)
