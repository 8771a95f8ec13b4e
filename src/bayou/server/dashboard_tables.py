"""Clearing and deleting a table from the dashboard, as the official dashboard does.

Clear deletes documents oldest first, one batch a call (`clearTablePage`: at most 4,000
documents or about 3 MB a batch, so each call is one ordinary, bounded transaction and the
page shows progress); the table and its indexes stay.

Delete (`delete_tables`) removes whole tables in one commit, and is refused, as on
Convex, for a table the active schema declares ("Failed to delete table "t" because it
appears in the schema") or names in a `v.id("t")` of another table — deploy a schema
without it first. The table leaves the namespace at once (it moves to a hidden one, as an
import's replaced tables do) and its documents are deleted behind, a batch a commit; if
the server stops before that ends, the next start finishes it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from typing import Any

from bayou.database.catalog import TABLES, TableInfo
from bayou.database.database import Database
from bayou.database.pagination import PaginationOptions, paginate
from bayou.database.retry import run_transaction
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest
from bayou.runner.dashboard_queries import by_index
from bayou.snapshots import import_

CLEAR_ROWS = 4_000
CLEAR_BYTES = 3_000_000


class SchemaEnforcementError(BadRequest):
    default_code = "SchemaEnforcementError"


def _user_table(tx: Transaction, name: Any, component: str) -> TableInfo:
    if not isinstance(name, str) or not name:
        raise BadRequest("Name a table", code="BadRequest")
    if name.startswith("_"):
        raise BadRequest(f"cannot delete system table {name}", code="BadRequest")
    info = tx.catalog.table(name, component)
    if info is None:
        raise BadRequest(f"Table {name!r} not found", code="TableNotFound")
    return info


async def clear_page(db: Database, table: str, component: str) -> dict[str, Any]:
    """Delete the oldest batch of `table`'s documents; `hasMore` until it is empty."""

    async def clear(tx: Transaction) -> dict[str, Any]:
        _user_table(tx, table, component)
        opts = PaginationOptions(CLEAR_ROWS, None, maximum_bytes_read=CLEAR_BYTES)
        page = await paginate(tx, by_index(table, "by_creation_time"), opts)
        for doc in page["page"]:
            await tx.delete(doc["_id"])
        return {"deleted": len(page["page"]), "hasMore": not page["isDone"]}

    result, _ = await run_transaction(db, clear, namespace=component)
    return result


def _references(node: Any) -> Iterator[str]:
    """The table names of every `v.id(...)` inside a validator's JSON."""
    if isinstance(node, dict):
        if node.get("type") == "id" and isinstance(node.get("tableName"), str):
            yield node["tableName"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def check_schema_allows(tx: Transaction, table: str, component: str) -> None:
    """Refuse, with Convex's words, to delete a table the active schema still needs."""
    record = tx.catalog.schema(component, "active")
    if record is None:
        return
    schema = record.schema
    if table in schema.tables:
        raise SchemaEnforcementError(
            f'Failed to delete table "{table}" because it appears in the schema'
        )
    for raw in schema.source.get("tables") or []:
        if table in set(_references(raw.get("documentType"))):
            raise SchemaEnforcementError(
                f'Failed to delete table "{table}" because `v.id("{table}")` appears in the '
                f'schema of table "{raw.get("tableName")}"'
            )


class TableDeleter:
    """Deletes tables: out of sight in one commit, their documents in the background."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._drops: set[asyncio.Task[None]] = set()

    async def delete(self, names: list[str], component: str) -> int:
        """Delete `names` of `component`; the number of documents they held."""
        # A hidden namespace that the snapshot service drops at start if we stop midway.
        hidden = f"{import_.STAGING_PREFIX}deleted-{secrets.token_hex(6)}"

        async def move(tx: Transaction) -> int:
            tables = tx.catalog.table(TABLES.name)
            assert tables is not None
            held = 0
            for name in dict.fromkeys(names):
                info = _user_table(tx, name, component)
                check_schema_allows(tx, name, component)
                held += await _count(tx, info)
                await tx.patch(tables.document_id(info.id), {"namespace": hidden}, system=True)
            return held

        held, _ = await run_transaction(self.db, move)
        task = asyncio.ensure_future(import_.drop_namespace(self.db, hidden))
        self._drops.add(task)
        task.add_done_callback(self._drops.discard)
        return held

    async def wait(self) -> None:
        """Until every background drop is done (tests)."""
        while self._drops:
            await asyncio.gather(*self._drops, return_exceptions=True)


async def _count(tx: Transaction, info: TableInfo) -> int:
    index = info.by_creation_time
    total, start = 0, b""
    await tx.settle()
    while True:
        keys = await tx.db.persistence.index_keys(index.id, start, None, tx.begin_ts, 5_000)
        total += len(keys)
        if len(keys) < 5_000:
            return total
        start = keys[-1][0] + b"\x00"
