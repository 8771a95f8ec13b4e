"""What the confinement tests try to reach: a data directory as `bayou serve` leaves it
(credentials, a SQLite database, mode 0700) and secrets in the server's environment."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bayou.auth.credentials import load_or_create

SECRET = "5ec2e7" * 10 + "abcd"
SERVER_SECRETS = {
    "INSTANCE_SECRET": SECRET,
    "POSTGRES_URL": "postgresql://admin:hunter2@127.0.0.1:5432",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-for-the-test",
}


def make_data_dir(base: Path) -> dict[str, str]:
    """A data directory like a server's; returns the paths a function must not read."""
    data_dir = base / "data"
    data_dir.mkdir(mode=0o700)
    load_or_create(data_dir, name=None, secret_hex=SECRET)
    database = data_dir / "db.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE documents (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO documents (body) VALUES ('private')")
    return {
        "data_dir": str(data_dir),
        "credentials": str(data_dir / "credentials" / "instance_secret"),
        "database": str(database),
    }
