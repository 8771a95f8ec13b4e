"""File storage. A client uploads in three steps: `generate_upload_url`, POST the bytes to
the URL (it answers `{"storageId"}`), then save the id in a document."""

from typing import Any

from bayou import ActionCtx, MutationCtx, QueryCtx, action, api, mutation, query, v


@mutation(args={})
def generateUploadUrl(ctx: MutationCtx) -> str:
    return ctx.storage.generate_upload_url()


@mutation(args={"storageId": v.id("_storage"), "name": v.string()})
def save(ctx: MutationCtx, storageId: str, name: str) -> str:
    return ctx.db.insert("files", {"storageId": storageId, "name": name})


def _describe(ctx: QueryCtx, file: dict[str, Any]) -> dict[str, Any]:
    stored = ctx.db.system.get(file["storageId"])
    return {
        "id": file["_id"],
        "name": file["name"],
        "storageId": file["storageId"],
        "url": ctx.storage.get_url(file["storageId"]),
        "size": stored["size"] if stored else None,
        "contentType": stored["contentType"] if stored else None,
        "sha256": stored["sha256"] if stored else None,
    }


@query(args={})
def list(ctx: QueryCtx) -> Any:
    # Every file with its URL and its `_storage` metadata (reactive: a deleted file goes).
    return [_describe(ctx, file) for file in ctx.db.query("files").collect()]


@query(args={"storageId": v.string()})
def url(ctx: QueryCtx, storageId: str) -> str | None:
    return ctx.storage.get_url(storageId)


@query(args={"storageId": v.id("_storage")})
def metadata(ctx: QueryCtx, storageId: str) -> Any:
    return ctx.storage.get_metadata(storageId)


@mutation(args={"id": v.id("files")})
def remove(ctx: MutationCtx, id: str) -> bool:
    # The document and its file in one transaction: the blob goes once it commits.
    file = ctx.db.get(id)
    if file is None:
        return False
    ctx.storage.delete(file["storageId"])
    ctx.db.delete(id)
    return True


@action(args={"text": v.string(), "name": v.string()})
def storeText(ctx: ActionCtx, text: str, name: str) -> str:
    storage_id = ctx.storage.store(text.encode(), "text/plain")
    ctx.run_mutation(api.files.save, {"storageId": storage_id, "name": name})
    return storage_id


@action(args={"storageId": v.id("_storage")})
def readText(ctx: ActionCtx, storageId: str) -> Any:
    data = ctx.storage.get(storageId)
    if data is None:
        return None
    meta = ctx.storage.get_metadata(storageId)
    return {"text": data.decode(), "type": (meta or {}).get("contentType") or ""}
