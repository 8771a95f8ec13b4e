"""Storage syscalls: `ctx.storage` of queries, mutations and actions, with the npm
package's names and JSON (`convex/dist/esm/server/impl/storage_impl.js`):

    1.0/storageGenerateUploadUrl  {}            → "<origin>/api/storage/upload?token=…"
    1.0/storageGetUrl             {storageId}   → "<origin>/api/storage/<uuid>" | null
    1.0/storageGetMetadata        {storageId}   → {storageId: uuid, sha256: hex, size,
                                                   contentType} | null
    1.0/storageDelete             {storageId}   → null (mutations: in their transaction)
    1.0/storageStore   (actions)  {blob: base64, contentType, sha256?}  → the new id
    1.0/storageGet     (actions)  {storageId}   → {blob: base64, contentType} | null

A storage id is a `_storage` id or a file's UUID (Convex's legacy ids). In queries and
mutations the `_storage` row is read in the function's transaction, so a query that
called `getUrl` re-runs when the file is deleted. In actions each call is its own
transaction. The JS runtime's `storage/storeBlob` / `storage/getBlob` (what an action's
`ctx.storage.store/get` call) arrive as `1.0/storageStore` / `1.0/storageGet`, their bytes
base64 in the worker's JSON lines: at most 20 MiB a file, as an HTTP action's body.

The deployment's files (`bayou.files.service.FileStorage`) reach this module as the
runner's `files` attribute, which the backend sets (the runner layer sits below `files`).
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any, Protocol

from bayou.database.namespaced import in_namespace
from bayou.database.retry import run_transaction
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest
from bayou.model import file_storage

if TYPE_CHECKING:
    from bayou.runner.function_runner import CallContext
    from bayou.runner.transaction_syscalls import TransactionSyscalls

MAX_ACTION_BLOB = 20 * 1024 * 1024


class FileService(Protocol):
    """What the syscalls need of the deployment's files."""

    def upload_url(self, component: str = "") -> str: ...

    def file_url(self, internal_id: bytes) -> str: ...

    async def store_bytes(
        self,
        data: bytes,
        content_type: str | None,
        sha256: bytes | None = None,
        component: str = "",
    ) -> str: ...

    async def read_bytes(self, internal_id: bytes) -> bytes: ...

    def wake_collector(self) -> None: ...


def files_of(ctx: CallContext) -> FileService:
    files = ctx.runner.files
    if files is None:
        raise BadRequest("File storage is not available on this server", code="StorageUnavailable")
    return files


def _storage_id(args: Any) -> Any:
    return args.get("storageId") if isinstance(args, dict) else None


async def _url(tx: Transaction, files: FileService, args: Any) -> str | None:
    internal_id = file_storage.resolve(tx, _storage_id(args), "storage.getUrl")
    doc = await file_storage.get(tx, internal_id)
    return None if doc is None else files.file_url(internal_id)


async def _metadata(tx: Transaction, args: Any) -> dict[str, Any] | None:
    internal_id = file_storage.resolve(tx, _storage_id(args), "storage.getMetadata")
    doc = await file_storage.get(tx, internal_id)
    return None if doc is None else file_storage.metadata(internal_id, doc)


async def _delete(tx: Transaction, args: Any) -> None:
    storage_id = _storage_id(args)
    internal_id = file_storage.resolve(tx, storage_id, "storage.delete")
    await file_storage.delete(tx, internal_id, str(storage_id))


# -- queries and mutations: the function's own transaction ----------------------------


async def generate_upload_url(sys: TransactionSyscalls, args: Any) -> Any:
    return files_of(sys.ctx).upload_url(sys.ctx.component)


async def get_url(sys: TransactionSyscalls, args: Any) -> Any:
    return await _url(sys.tx, files_of(sys.ctx), args)


async def get_metadata(sys: TransactionSyscalls, args: Any) -> Any:
    return await _metadata(sys.tx, args)


async def delete(sys: TransactionSyscalls, args: Any) -> Any:
    if sys.tx.read_only:
        raise BadRequest(
            "A query cannot delete files: call ctx.storage.delete in a mutation or an action",
            code="InvalidSyscall",
        )
    await _delete(sys.tx, args)
    return None


TRANSACTION_OPS = {
    "1.0/storageGenerateUploadUrl": generate_upload_url,
    "1.0/storageGetUrl": get_url,
    "1.0/storageGetMetadata": get_metadata,
    "1.0/storageDelete": delete,
}

# Only actions hold file contents; elsewhere these are unknown, as on Convex.
ACTION_ONLY = frozenset({"1.0/storageStore", "1.0/storageGet"})


def unknown_operation(op: str) -> BadRequest:
    return BadRequest(f"Unknown async operation {op}", code="UnknownAsyncOperation")


# -- actions: a transaction per call ------------------------------------------------------

ACTION_OPS = frozenset({*TRANSACTION_OPS, *ACTION_ONLY})


async def action_syscall(ctx: CallContext, op: str, args: Any) -> Any:
    """One storage syscall of an action (`op` in `ACTION_OPS`)."""
    files = files_of(ctx)
    db = ctx.runner.db
    component = ctx.component  # each component has its own files

    def snapshot() -> Transaction:
        return in_namespace(db.begin(read_only=True), component)

    if op == "1.0/storageGenerateUploadUrl":
        return files.upload_url(component)
    if op == "1.0/storageGetUrl":
        return await _url(snapshot(), files, args)
    if op == "1.0/storageGetMetadata":
        return await _metadata(snapshot(), args)
    if op == "1.0/storageDelete":

        async def remove(tx: Transaction) -> None:
            await _delete(in_namespace(tx, component), args)

        await run_transaction(db, remove)
        return None
    if op == "1.0/storageStore":
        return await _store(files, args, component)
    if op == "1.0/storageGet":
        return await _get(ctx, files, args)
    raise unknown_operation(op)


async def _store(files: FileService, args: Any, component: str = "") -> str:
    if not isinstance(args, dict) or not isinstance(args.get("blob"), str):
        raise BadRequest("storage.store() needs the file's bytes", code="InvalidArgument")
    encoded: str = args["blob"]
    if len(encoded) // 4 * 3 > MAX_ACTION_BLOB + 3:  # before decoding a huge one
        raise _too_large("store", len(encoded) // 4 * 3)
    try:
        data = base64.b64decode(encoded, validate=True)
        sha256 = args.get("sha256")
        digest = None if sha256 in (None, "") else base64.b64decode(sha256, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise BadRequest(
            "storage.store(): the blob or its sha256 is not valid base64", code="InvalidArgument"
        ) from None
    if len(data) > MAX_ACTION_BLOB:
        raise _too_large("store", len(data))
    if digest is not None and len(digest) != 32:
        raise BadRequest(
            "storage.store(): `sha256` must be the base64 of a SHA-256 digest (32 bytes)",
            code="InvalidArgument",
        )
    content_type = args.get("contentType")
    return await files.store_bytes(
        data, content_type if isinstance(content_type, str) else None, digest, component
    )


async def _get(ctx: CallContext, files: FileService, args: Any) -> Any:
    tx = in_namespace(ctx.runner.db.begin(read_only=True), ctx.component)
    internal_id = file_storage.resolve(tx, _storage_id(args), "storage.get")
    doc = await file_storage.get(tx, internal_id)
    if doc is None:
        return None
    if doc["size"] > MAX_ACTION_BLOB:
        raise _too_large("get", int(doc["size"]))
    data = await files.read_bytes(internal_id)
    return {"blob": base64.b64encode(data).decode("ascii"), "contentType": doc.get("contentType")}


def _too_large(verb: str, size: int) -> BadRequest:
    mib = MAX_ACTION_BLOB // (1024 * 1024)
    fix = (
        "upload it with ctx.storage.generateUploadUrl() instead"
        if verb == "store"
        else "serve it with ctx.storage.getUrl() instead"
    )
    return BadRequest(
        f"storage.{verb}(): an action can {verb} files of at most {mib} MiB in Bayou (this one "
        f"has {size / 2**20:.1f} MiB): {fix}.",
        code="FileTooLarge",
    )
