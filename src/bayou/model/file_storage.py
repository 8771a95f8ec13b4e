"""File storage: the `_storage` table (one row per stored file) and `_blob_gc` (blobs the
store may have to delete), in Convex's shapes where users look.

`_storage` documents are exactly what users read through `ctx.db.system` and
`npx convex data _storage`: `sha256` (base64), `size`, `contentType` (or null). It has
Convex's table number (28), so `_storage` ids of a Convex export stay valid here. A file
has three names derived from one 16-byte internal id: its id (`ids.encode_id(28, …)`),
its public UUID (in `/api/storage/{uuid}` URLs and `getMetadata().storageId`), and its
blob key in the store (`<prefix><uuid>`). No other field is needed, so none is hidden
from users.

`_blob_gc` makes sure files are never silently lost and never left forever:

- an upload records `{key, reason: "upload", notBefore: <URL expiry + grace>}` before
  its bytes are written; the transaction that inserts the `_storage` row removes that
  record. An upload that never got its row is collected after `notBefore`, never before:
  the collector first *claims* the record (a commit the finishing upload conflicts with),
  then deletes the blob.
- deleting a `_storage` row records `{key, reason: "deleted", notBefore: 0}` in the same
  transaction, so the blob goes only once that transaction has committed — and still goes
  if the server stops right after.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

from bayou.database.catalog import SystemTable, TableInfo
from bayou.database.namespaced import in_namespace
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest
from bayou.values import ids

STORAGE = SystemTable("_storage", 28, {})
BLOB_GC = SystemTable("_blob_gc", 26, {"by_due": ("notBefore",)})

UPLOAD = "upload"
DELETED = "deleted"


class UploadExpired(BadRequest):
    """The upload outlived its URL by more than the grace period: its blob was collected."""

    default_code = "StorageUploadExpired"


@dataclass(frozen=True, slots=True)
class GcRecord:
    id: str
    key: str  # the file's UUID (the blob key without the store prefix)
    reason: str
    not_before_ms: float
    claimed: bool


# -- names of a file ------------------------------------------------------------------


def uuid_of(internal_id: bytes) -> str:
    """A file's public UUID (as in its URL)."""
    return str(uuid.UUID(bytes=internal_id))


def internal_id_of(text: str) -> bytes | None:
    """The internal id behind a public UUID, or None when `text` is not a UUID."""
    try:
        return uuid.UUID(text).bytes
    except (ValueError, TypeError, AttributeError):
        return None


def storage_id_of(internal_id: bytes) -> str:
    """A file's `_storage` id."""
    return ids.encode_id(STORAGE.number, internal_id)


def resolve(tx: Transaction, storage_id: Any, api: str) -> bytes:
    """The internal id of a storage id as functions pass it (a `_storage` id or a legacy
    UUID); `InvalidArgument` worded as Convex's (`api`: e.g. `storage.getUrl`)."""
    if not isinstance(storage_id, str):
        raise BadRequest(
            f"Invalid argument `storageId` for `{api}`: expected a string, got "
            f"{type(storage_id).__name__}",
            code="InvalidArgument",
        )
    try:
        number, internal_id = ids.decode_id(storage_id)
    except BadRequest:
        internal = internal_id_of(storage_id)
        if internal is None:
            raise BadRequest(
                f"Invalid argument `storageId` for `{api}`: Invalid storage ID: "
                f"\"{storage_id}\". Storage ID should be an Id of '_storage' table, or a "
                "UUID string.",
                code="InvalidArgument",
            ) from None
        return internal
    if number != STORAGE.number:
        raise BadRequest(
            "Invalid storage ID. Storage ID cannot be an ID on any table other than '_storage'.",
            code="InvalidArgument",
        )
    return internal_id


# -- _storage rows ----------------------------------------------------------------------


def _table(tx: Transaction, definition: SystemTable) -> TableInfo | None:
    """The table in the transaction's namespace: the app's is created at start, a
    component's with its first file (None before)."""
    if not tx.namespace:
        table = tx.catalog.table(definition.name)
        assert table is not None, f"{definition.name} is created at start"
        return table
    return tx.table_for_read(definition.name)


def namespaces(tx: Transaction) -> list[str]:
    """The app ("") and every component that has a `_storage` table, app first."""
    found = {t.namespace for t in tx.catalog.tables() if t.name == STORAGE.name}
    return ["", *sorted(found - {""})]


async def get(tx: Transaction, internal_id: bytes) -> dict[str, Any] | None:
    """The file's `_storage` document (a read of the transaction: reactive), or None."""
    table = _table(tx, STORAGE)
    doc = None if table is None else await tx.get_doc(table, internal_id)
    return None if doc is None else doc.value


def metadata(internal_id: bytes, doc: dict[str, Any]) -> dict[str, Any]:
    """`storage.getMetadata()`'s answer: the UUID and the digest in hex, as Convex's."""
    return {
        "storageId": uuid_of(internal_id),
        "sha256": base64.b64decode(doc["sha256"]).hex(),
        "size": int(doc["size"]),
        "contentType": doc.get("contentType"),
    }


async def insert(
    tx: Transaction, internal_id: bytes, *, sha256_b64: str, size: int, content_type: str | None
) -> str:
    """The row of a file whose blob is stored; returns its `_storage` id."""
    # The id is chosen before the bytes are written (the blob key derives from it). Nothing
    # can race for it: it is 14 random bytes.
    return await tx.insert(
        STORAGE.name,
        {"sha256": sha256_b64, "size": float(size), "contentType": content_type},
        system=True,
        internal_id=internal_id,
    )


async def delete(tx: Transaction, internal_id: bytes, storage_id: str) -> None:
    """`storage.delete`: the row goes in this transaction, the blob once it commits."""
    table = _table(tx, STORAGE)
    if table is None or await tx.get_doc(table, internal_id) is None:
        raise BadRequest(f"storage id {storage_id} not found", code="StorageIdNotFound")
    await tx.delete(table.document_id(internal_id), system=True)
    # The collector reads the deployment's `_blob_gc`, whichever component owned the file.
    await in_namespace(tx, "").insert(
        BLOB_GC.name,
        {"key": uuid_of(internal_id), "reason": DELETED, "notBefore": 0.0, "claimed": False},
        system=True,
    )


async def count(tx: Transaction, *, at_most: int) -> int:
    """How many files there are, counting no further than `at_most`."""
    query = {
        "source": {"type": "FullTableScan", "tableName": STORAGE.name, "order": "asc"},
        "operators": [{"limit": at_most}],
    }
    return len(await tx.query(query, system=True).collect())


async def page(
    tx: Transaction, after: float | None, limit: int
) -> list[tuple[bytes, dict[str, Any]]]:
    """Up to `limit` files created after `after` (a `_creationTime`), oldest first."""
    bounds = [] if after is None else [{"type": "Gt", "fieldPath": "_creationTime", "value": after}]
    query = {
        "source": {
            "type": "IndexRange",
            "indexName": f"{STORAGE.name}.by_creation_time",
            "range": bounds,
            "order": "asc",
        },
        "operators": [{"limit": limit}],
    }
    docs = await tx.query(query, system=True).collect()
    return [(ids.decode_id(d["_id"])[1], d) for d in docs]


# -- _blob_gc records ---------------------------------------------------------------------


async def start_upload(tx: Transaction, key: str, not_before_ms: float) -> str:
    """Record an upload about to write blob `key`; returns the record's id."""
    return await tx.insert(
        BLOB_GC.name,
        {"key": key, "reason": UPLOAD, "notBefore": float(not_before_ms), "claimed": False},
        system=True,
    )


async def finish_upload(
    tx: Transaction,
    record_id: str,
    internal_id: bytes,
    *,
    sha256_b64: str,
    size: int,
    content_type: str | None,
    namespace: str = "",
) -> str:
    """The stored blob gets its `_storage` row (in the files of component `namespace`) and
    stops being garbage, in one commit; `UploadExpired` when the collector has claimed it
    (then nothing is written). `tx` is a root-namespace transaction (`_blob_gc`)."""
    record = await tx.get(record_id, system=True)
    if record is None or record.get("claimed"):
        raise UploadExpired(
            "The upload took too long: its URL expired and its data was discarded. Generate "
            "a new upload URL and upload again."
        )
    await tx.delete(record_id, system=True)
    return await insert(
        in_namespace(tx, namespace),
        internal_id,
        sha256_b64=sha256_b64,
        size=size,
        content_type=content_type,
    )


async def abandon_upload(tx: Transaction, record_id: str) -> None:
    """An upload that failed before storing anything: its record can go."""
    if await tx.get(record_id, system=True) is not None:
        await tx.delete(record_id, system=True)


def _by_due(bounds: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    return {
        "source": {
            "type": "IndexRange",
            "indexName": f"{BLOB_GC.name}.by_due",
            "range": bounds,
            "order": "asc",
        },
        "operators": [{"limit": limit}],
    }


def _record(doc: dict[str, Any]) -> GcRecord:
    return GcRecord(
        doc["_id"], doc["key"], doc["reason"], doc["notBefore"], bool(doc.get("claimed"))
    )


async def due(tx: Transaction, now_ms: float, limit: int) -> list[GcRecord]:
    """Records whose blob may be deleted now, the oldest first."""
    bounds = [{"type": "Lte", "fieldPath": "notBefore", "value": float(now_ms)}]
    return [_record(d) for d in await tx.query(_by_due(bounds, limit), system=True).collect()]


async def next_due_ms(tx: Transaction) -> float | None:
    """When the earliest record becomes due (None: there is none)."""
    docs = await tx.query(_by_due([], 1), system=True).collect()
    return docs[0]["notBefore"] if docs else None


async def pending(tx: Transaction, limit: int) -> list[GcRecord]:
    """Every record (uploads in flight, deletions not yet done), for reports."""
    return [_record(d) for d in await tx.query(_by_due([], limit), system=True).collect()]


async def claim(tx: Transaction, record_id: str) -> bool:
    """Take a due upload record for collection (a finishing upload now fails); False when
    it finished meanwhile."""
    record = await tx.get(record_id, system=True)
    if record is None:
        return False
    if not record.get("claimed"):
        await tx.patch(record_id, {"claimed": True}, system=True)
    return True


async def forget(tx: Transaction, record_id: str) -> None:
    """The blob is gone: drop its record."""
    if await tx.get(record_id, system=True) is not None:
        await tx.delete(record_id, system=True)
