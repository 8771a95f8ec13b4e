"""Search tests use the database fixtures (both storage engines)."""

from tests.database.conftest import db, engine, make_persistence, open_db  # noqa: F401
