"""Stored results of sync mutations expire after their retention."""

from __future__ import annotations

import time
from pathlib import Path

from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.model import session_requests
from bayou.model.maintenance import Maintenance
from bayou.model.system_tables import SYSTEM_TABLES
from bayou.persistence.sqlite import SqlitePersistence


async def test_old_stored_results_are_deleted_and_recent_ones_kept(tmp_path: Path) -> None:
    db = await Database.open(
        SqlitePersistence(tmp_path / "db"), cursor_key=b"k" * 32, system_tables=SYSTEM_TABLES
    )
    try:
        for i in range(3):
            await run_transaction(db, lambda tx, i=i: session_requests.store(tx, "s", i, "null"))
        now = time.time() * 1000
        maintenance = Maintenance(db)
        assert await maintenance.expire_session_requests(now) == 0
        assert (
            await maintenance.expire_session_requests(now + session_requests.RETENTION_MS + 60_000)
            == 3
        )
        assert await session_requests.lookup(db.begin(), "s", 1) is None
    finally:
        await db.close()
