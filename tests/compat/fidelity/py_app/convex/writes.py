"""Bayou defers a mutation's patch/replace/delete (they return at once and reach the
server with the next syscall). When one fails, these show the user code still sees the
error where Convex raises it: at the write."""

from typing import Any

from bayou import MutationCtx, QueryCtx, mutation, query, v


@mutation(args={"tag": v.string()})
def catch_failed_patch(ctx: MutationCtx, tag: str) -> str:
    """Catches the failed patch of a deleted document, then writes on."""
    gone = ctx.db.insert("notes", {"body": f"{tag}-gone"})
    ctx.db.delete(gone)
    caught = ""
    try:
        ctx.db.patch(gone, {"body": f"{tag}-patched"})
    except Exception as error:
        caught = str(error)
    ctx.db.insert("notes", {"body": f"{tag}-after"})
    return caught


@mutation(args={"tag": v.string()})
def bad_patch(ctx: MutationCtx, tag: str) -> None:
    """A patch that breaks the schema, not caught."""
    id = ctx.db.insert("notes", {"body": f"{tag}-bad"})
    ctx.db.patch(id, {"body": 5})  # the bad patch
    ctx.db.insert("notes", {"body": f"{tag}-never"})


@mutation(args={"tag": v.string()})
def patch_and_read(ctx: MutationCtx, tag: str) -> dict[str, Any]:
    """Patches, replaces and reads its own writes back."""
    id = ctx.db.insert("notes", {"body": f"{tag}-0"})
    ctx.db.patch(id, {"body": f"{tag}-1"})
    ctx.db.replace(id, {"body": f"{tag}-2"})
    doc = ctx.db.get(id)
    return {"body": doc["body"] if doc else None}


@query(args={"body": v.string()})
def count_body(ctx: QueryCtx, body: str) -> int:
    return len([n for n in ctx.db.query("notes").collect() if n["body"] == body])
