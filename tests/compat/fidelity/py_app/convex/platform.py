"""The deployment's URLs, and system tables through ctx.db.system."""

import os
from typing import Any

from bayou import action, mutation, query, v


@query(args={})
def urls(ctx: Any) -> Any:
    return [os.environ.get("CONVEX_CLOUD_URL"), os.environ.get("CONVEX_SITE_URL")]


@action(args={})
def urls_in_action(ctx: Any) -> Any:
    return [os.environ.get("CONVEX_CLOUD_URL"), os.environ.get("CONVEX_SITE_URL")]


@query(args={})
def scheduled_count(ctx: Any) -> int:
    return len(ctx.db.system.query("_scheduled_functions").collect())


@mutation(args={"body": v.string()})
def insert_note(ctx: Any, body: str) -> str:
    return ctx.db.insert("notes", {"body": body})


@query(args={"id": v.string()})
def system_get(ctx: Any, id: str) -> Any:
    return ctx.db.system.get(id)
