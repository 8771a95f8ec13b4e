"""Index backfill: writing the entries of a new index for the documents that already exist.

A new index is created in state `backfilling`; from that commit on, the committer keeps it
current for every write. Backfill then scans the table at a snapshot taken after that
commit and writes an entry for each document at the document's own revision timestamp.
An entry the committer wrote later (a key that moved) has a later timestamp and wins, so
the two never disagree. The index becomes queryable when it is enabled afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bayou.database.index_key import document_key
from bayou.database.search.postings import posting_keys
from bayou.errors import InternalError
from bayou.persistence.base import IndexEntry
from bayou.values import json as vjson

if TYPE_CHECKING:
    from bayou.database.database import Database

PAGE = 1000


async def backfill_index(
    db: Database, index_id: bytes, progress: Callable[[int], None] | None = None
) -> int:
    """Write entries for every document of the index's table; returns how many."""
    table = db.catalog.table_of_index(index_id)
    if table is None:
        raise InternalError("Backfill of an index that does not exist")
    index = next(i for i in table.indexes.values() if i.id == index_id)
    if index.kind == "by_id":
        return 0
    snapshot = db.latest_ts
    done = 0
    after: bytes | None = None
    while True:
        page = await db.persistence.scan_table(table.id, snapshot, after, PAGE)
        entries = []
        for revision in page:
            assert revision.value is not None
            value = vjson.loads(revision.value)
            if index.kind in ("search", "vector"):
                keys = posting_keys(index, revision.id, value) if index.kind == "search" else ()
            else:
                keys = (document_key(index, revision.id, value),)
            entries.extend(
                IndexEntry(index.id, key, revision.ts, table.id, revision.id) for key in keys
            )
        if entries:
            await db.committer.write_index_entries(entries)
        done += len(page)
        if progress is not None:
            progress(done)
        if len(page) < PAGE:
            return done
        after = page[-1].id
