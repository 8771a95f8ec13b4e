"""Bayou's on-disk format and its migrations, run when a database opens.

The format is a number in the persistence globals (`format`). A fresh database is written
at `FORMAT`. An older one is brought up to it by running, in order, each migration whose
version is above the stored format: one transaction per migration, holding its writes
*and* the new format number, so a migration is applied whole or not at all — a start
that stops halfway (a crash, a lost lease) leaves the previous format, and the next start
runs the migration again. Each step is logged (`executing migration 2/2: …`, then
`on-disk format up to date at 2`), as Convex's backend logs its own.

A database of a newer format (written by a newer Bayou) is refused before anything is
written: migrations only go forward, so a rollback is a restore of a backup.

History:

    1  Bayou 0.1.0.
    2  Every `_exports` row says where its ZIP is stored (`zip_storage`: "local", or
       "s3:<bucket>" with `S3_STORAGE_EXPORTS_BUCKET`), so that a download finds an older
       export wherever the current settings put new ones.

A migration reads and writes through an ordinary transaction, naming system tables by
name: this module sits below the model layer and imports nothing of it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bayou.errors import InternalError

if TYPE_CHECKING:
    from bayou.database.database import Database
    from bayou.database.transaction import Transaction

log = logging.getLogger("bayou.database")


@dataclass(frozen=True, slots=True)
class Migration:
    """The step from format `version - 1` to `version`: `run` buffers its writes in the
    transaction it is given (which also bumps the format)."""

    version: int
    description: str
    run: Callable[[Transaction], Awaitable[None]]


async def _record_export_storage(tx: Transaction) -> None:
    table = tx.table_for_read("_exports")
    if table is None:
        return
    query = {
        "source": {"type": "FullTableScan", "tableName": table.name, "order": "asc"},
        "operators": [],
    }
    for doc in await tx.query(query, system=True).collect():
        if "zip_storage" not in doc:
            # Format 1 wrote every export into the data directory.
            await tx.patch(doc["_id"], {"zip_storage": "local"}, system=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "record where each export's ZIP is stored", _record_export_storage),
)
FORMAT = MIGRATIONS[-1].version if MIGRATIONS else 1


def check_format(stored: Any, current: int = FORMAT) -> int:
    """The stored format number; refuses one this Bayou cannot read."""
    if isinstance(stored, int) and not isinstance(stored, bool) and stored > current:
        raise InternalError(
            f"This database was written by a newer Bayou (on-disk format {stored}; this "
            f"Bayou reads formats 1 to {current}): upgrade Bayou to open it, or restore a "
            "backup into a fresh data directory with `bayou restore`.",
            code="DatabaseFromNewerBayou",
        )
    if not isinstance(stored, int) or isinstance(stored, bool) or stored < 1:
        raise InternalError(
            f"This database was written by an unknown Bayou storage format {stored!r}: it "
            "is not a Bayou database, or it is damaged. Restore a backup into a fresh data "
            "directory with `bayou restore`.",
            code="UnknownStorageFormat",
        )
    return stored


async def migrate(db: Database, stored: int, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Run the migrations above `stored`, each in its own commit; the format reached."""
    target = migrations[-1].version if migrations else stored
    pending = [m for m in migrations if m.version > stored]
    for migration in pending:
        log.info("executing migration %d/%d: %s", migration.version, target, migration.description)
        tx = db.begin()
        await migration.run(tx)
        tx.globals = {"format": migration.version}
        await db.commit(tx)
        stored = migration.version
    log.info("on-disk format up to date at %d", stored)
    return stored
