"""Notes: the harness's own test app (clock, identity, environment, HTTP, logs)."""

import logging
import os
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

import httpx

from bayou import (
    ActionCtx,
    AsyncActionCtx,
    MutationCtx,
    QueryCtx,
    action,
    api,
    internal_mutation,
    mutation,
    query,
    v,
)


@mutation(args={"text": v.string()})
def add(ctx: MutationCtx, text: str) -> str:
    print(f"adding {text}")
    return ctx.db.insert("notes", {"text": text})


@query(args={})
def texts(ctx: QueryCtx) -> list[str]:
    return [n["text"] for n in ctx.db.query("notes").collect()]


@query(args={})
def clock(ctx: QueryCtx) -> dict[str, float]:
    return {"time": time.time(), "now": datetime.now(UTC).timestamp()}


@action(args={})
def action_clock(ctx: ActionCtx) -> float:
    return time.time()


@mutation(args={"seconds": v.float64(), "text": v.string()})
def later(ctx: MutationCtx, seconds: float, text: str) -> str:
    return ctx.scheduler.run_after(seconds, api.notes.add, {"text": text})


@query(args={})
def who(ctx: QueryCtx) -> Any:
    return ctx.auth.get_user_identity()


@query(args={"name": v.string()})
def env(ctx: QueryCtx, name: str) -> str | None:
    return os.environ.get(name)


@action(args={"url": v.string()})
def fetch_urllib(ctx: ActionCtx, url: str) -> Any:
    request = urllib.request.Request(url, data=b"ping", method="POST")
    request.add_header("X-Test", "1")
    with urllib.request.urlopen(request) as response:
        return {"status": response.status, "body": response.read().decode()}


@action(args={"url": v.string()})
def fetch_httpx(ctx: ActionCtx, url: str) -> Any:
    response = httpx.get(url, params={"q": "x"})
    return {"status": response.status_code, "json": response.json()}


@action(args={"url": v.string()})
async def fetch_async(ctx: AsyncActionCtx, url: str) -> Any:
    async with httpx.AsyncClient() as client:
        response = await client.put(url, json={"a": 1})
    await ctx.run_mutation(api.notes.add, {"text": response.text})
    logging.warning("fetched %s", url)
    return response.status_code


def undecorated(ctx: MutationCtx, text: str) -> None:
    ctx.db.insert("notes", {"text": text})


@internal_mutation(args={})
def clear(ctx: MutationCtx) -> None:
    for note in ctx.db.query("notes").collect():
        ctx.db.delete(note["_id"])
