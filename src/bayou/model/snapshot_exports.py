"""Snapshot exports (`_exports`): one row per export, in Convex's serialized shape, which
the CLI reads through `_system/cli/exports:getLatest` (ops-surface.md §3.2).

A row's `state` moves `requested` → `in_progress` → `completed` | `failed` | `canceled`.
Timestamps are nanoseconds since the epoch, as Int64 (the CLI reads them as bigints):

    requested    {format, component, requestor, expiration_ts}
    in_progress  {start_ts, progress_message, …}
    completed    {start_ts, complete_ts, expiration_ts, zip_object_key, zip_storage, size, …}
    failed       {start_ts, failed_ts, …}
    canceled     {start_ts, canceled_ts, …}

`zip_storage` (Bayou's) says where the ZIP is: "local" (the data directory) or
"s3:<bucket>" (`S3_STORAGE_EXPORTS_BUCKET`).
`format` is `{"format": "zip", "include_storage": bool}`; `requestor` is
`"snapshotExport"` for the CLI's and the dashboard's exports, `"backup"` for Bayou's
scheduled and `bayou backup now` ones.
"""

from __future__ import annotations

from typing import Any

from bayou.database.catalog import SystemTable
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest, NotFound
from bayou.values import Int64

EXPORTS = SystemTable("_exports", 40, {"by_requestor": ("requestor",)})

SNAPSHOT_EXPORT = "snapshotExport"
BACKUP = "backup"
RUNNING = ("requested", "in_progress")
# Convex keeps an export downloadable for 14 days by default.
DEFAULT_EXPIRATION_NS = 14 * 24 * 3600 * 1_000_000_000


class ExportInProgress(BadRequest):
    default_code = "ExportInProgress"


def _latest_query(requestor: str, limit: int) -> dict[str, Any]:
    return {
        "source": {
            "type": "IndexRange",
            "indexName": f"{EXPORTS.name}.by_requestor",
            "range": [{"type": "Eq", "fieldPath": "requestor", "value": requestor}],
            "order": "desc",
        },
        "operators": [{"limit": limit}],
    }


async def latest(tx: Transaction, requestor: str = SNAPSHOT_EXPORT) -> dict[str, Any] | None:
    """The newest export of `requestor` (a reactive read), or None."""
    docs = await tx.query(_latest_query(requestor, 1), system=True).collect()
    return dict(docs[0]) if docs else None


async def recent(tx: Transaction, requestor: str, limit: int = 100) -> list[dict[str, Any]]:
    """The newest exports of `requestor`, newest first."""
    return [dict(d) for d in await tx.query(_latest_query(requestor, limit), system=True).collect()]


async def request(tx: Transaction, *, include_storage: bool, requestor: str, now_ns: int) -> str:
    """A new `requested` export; `ExportInProgress` while another one runs."""
    current = await latest(tx, requestor)
    if current is not None and current["state"] in RUNNING:
        raise ExportInProgress(
            "There is already an export requested or in progress. Wait for it to finish "
            "(`npx convex export` without --path reports it) and try again."
        )
    return await tx.insert(
        EXPORTS.name,
        {
            "state": "requested",
            "format": {"format": "zip", "include_storage": include_storage},
            "component": None,
            "requestor": requestor,
            "expiration_ts": Int64(now_ns + DEFAULT_EXPIRATION_NS),
        },
        system=True,
    )


async def get(tx: Transaction, export_id: str) -> dict[str, Any] | None:
    try:
        return await tx.get(export_id, table=EXPORTS.name, system=True)
    except BadRequest:
        return None


async def find(tx: Transaction, key: str) -> dict[str, Any]:
    """The export named by its document id or by its `start_ts` (what the CLI passes)."""
    if key.isdigit():
        for requestor in (SNAPSHOT_EXPORT, BACKUP):
            for doc in await recent(tx, requestor):
                start = doc.get("start_ts")
                if start is not None and int(start) == int(key):
                    return doc
    else:
        doc = await get(tx, key)
        if doc is not None:
            return doc
    raise NotFound(f"Export {key} not found", code="ExportNotFound")


async def set_state(tx: Transaction, export_id: str, state: str, **fields: Any) -> None:
    """Move an export to `state`, keeping its format, component and requestor."""
    doc = await get(tx, export_id)
    if doc is None:
        raise NotFound(f"Export {export_id} not found", code="ExportNotFound")
    keep = {k: doc[k] for k in ("format", "component", "requestor") if k in doc}
    if "expiration_ts" in doc and state in ("in_progress", "completed"):
        keep["expiration_ts"] = doc["expiration_ts"]
    if "start_ts" in doc and state in ("completed", "failed", "canceled"):
        keep["start_ts"] = doc["start_ts"]
    converted = {
        k: Int64(v) if isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in fields.items()
    }
    await tx.replace(export_id, {**keep, **converted, "state": state}, system=True)
