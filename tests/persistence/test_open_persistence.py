"""`open_persistence` picks the engine from the settings; every engine fits the interface."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayou.errors import BadRequest
from bayou.persistence import (
    MemoryPersistence,
    Persistence,
    PostgresPersistence,
    SqlitePersistence,
    open_persistence,
)


def test_without_a_url_the_store_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    store = open_persistence(
        data_dir=tmp_path, postgres_url=None, instance_name="convex-self-hosted", require_ssl=True
    )
    assert isinstance(store, SqlitePersistence)
    assert store.path == tmp_path / "db.sqlite3"
    assert store.description == f"SQLite at {tmp_path / 'db.sqlite3'}"


def test_with_a_url_the_store_is_the_instance_database(tmp_path: Path) -> None:
    store = open_persistence(
        data_dir=tmp_path,
        postgres_url="postgresql://bayou:pw@db.internal:5432",
        instance_name="convex-self-hosted",
        require_ssl=False,
    )
    assert isinstance(store, PostgresPersistence)
    assert store.database == "convex_self_hosted"
    assert "pw" not in store.description


def test_a_bad_url_fails_before_connecting(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="Remove `/app` from the URL"):
        open_persistence(
            data_dir=tmp_path,
            postgres_url="postgresql://bayou@db.internal/app",
            instance_name="convex-self-hosted",
            require_ssl=True,
        )


def test_every_engine_implements_the_interface(tmp_path: Path) -> None:
    engines = [
        MemoryPersistence(),
        SqlitePersistence(tmp_path / "db.sqlite3"),
        PostgresPersistence("postgresql://u@h", "i"),
    ]
    for engine in engines:
        assert isinstance(engine, Persistence)
        assert engine.description
