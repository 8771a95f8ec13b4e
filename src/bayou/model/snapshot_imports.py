"""Snapshot imports (`_snapshot_imports`): one row per `npx convex import`, in Convex's
serialized shape, which the CLI polls through `_system/cli/queryImport` (ops-surface.md
§3.3).

    {state, format, mode, component_path, object_key, checkpoints, requestor}

`state` is tagged by its `state` field: `uploaded` → `waiting_for_confirmation
{message_to_confirm, require_manual_confirmation}` → `in_progress {progress_message,
checkpoint_messages}` → `completed {timestamp, num_rows_written}` | `failed
{error_message}`. `format` is `{"format": "csv"|"jsonl"|"json_array", "table"}` or
`{"format": "zip"}`; `mode` is the CLI's (`requireEmpty`, `append`, `replace`,
`replaceAll`).
"""

from __future__ import annotations

from typing import Any

from bayou.database.catalog import SystemTable
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest, NotFound
from bayou.values import Int64

IMPORTS = SystemTable("_snapshot_imports", 41, {})

MODES = ("requireEmpty", "append", "replace", "replaceAll")
# The CLI's format names → the serialized ones.
FORMATS = {"csv": "csv", "jsonLines": "jsonl", "jsonArray": "json_array", "zip": "zip"}
FINISHED = ("completed", "failed")


async def create(
    tx: Transaction,
    *,
    format: str,
    table: str | None,
    mode: str,
    component_path: str | None,
    object_key: str,
    requestor: str = "snapshotImport",
) -> str:
    serialized: dict[str, Any] = {"format": FORMATS[format]}
    if table is not None:
        serialized["table"] = table
    return await tx.insert(
        IMPORTS.name,
        {
            "state": {"state": "uploaded"},
            "format": serialized,
            "mode": mode,
            "component_path": component_path,
            "object_key": object_key,
            "checkpoints": None,
            "requestor": {"type": requestor},
        },
        system=True,
    )


async def get(tx: Transaction, import_id: Any) -> dict[str, Any] | None:
    """The import's row (a reactive read), or None for an unknown or malformed id."""
    if not isinstance(import_id, str):
        return None
    try:
        return await tx.get(import_id, table=IMPORTS.name, system=True)
    except BadRequest:
        return None


async def require(tx: Transaction, import_id: Any) -> dict[str, Any]:
    doc = await get(tx, import_id)
    if doc is None:
        raise NotFound(f"Import {import_id} not found", code="ImportNotFound")
    return doc


async def recent(tx: Transaction, limit: int = 20) -> list[dict[str, Any]]:
    """The newest imports, newest first."""
    query = {
        "source": {
            "type": "IndexRange",
            "indexName": f"{IMPORTS.name}.by_creation_time",
            "range": [],
            "order": "desc",
        },
        "operators": [{"limit": limit}],
    }
    return [dict(d) for d in await tx.query(query, system=True).collect()]


async def set_state(tx: Transaction, import_id: str, state: str, **fields: Any) -> None:
    """Move an import to `state` (ints become Int64: the CLI reads bigints)."""
    await require(tx, import_id)
    value = {
        k: Int64(v) if isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in fields.items()
    }
    await tx.patch(import_id, {"state": {"state": state, **value}}, system=True)


def state_of(doc: dict[str, Any]) -> str:
    return doc["state"]["state"]
