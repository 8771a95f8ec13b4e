"""Determinism, environment, logging, network and errors inside functions."""

import datetime
import logging
import os
import random
import secrets
import time
import urllib.request
import uuid
from typing import Any

from bayou import (
    ActionCtx,
    AsyncQueryCtx,
    MutationCtx,
    QueryCtx,
    action,
    internal,
    mutation,
    query,
    v,
)

logger = logging.getLogger(__name__)
IMPORTED_AT = time.time()


@query(args={})
def world(ctx: QueryCtx) -> Any:
    return {
        "random": random.random(),
        "randint": random.randint(0, 10**6),
        "own_random": random.Random().random(),
        "time": time.time(),
        "now": datetime.datetime.now(datetime.UTC).isoformat(),
        "today": datetime.date.today().isoformat(),
        "uuid": str(uuid.uuid4()),
        "token": secrets.token_hex(8),
        "urandom": os.urandom(4).hex(),
        "imported_at": IMPORTED_AT,
    }


@action(args={})
def real_world(ctx: Any) -> Any:
    return {"time": time.time(), "random": random.random()}


@query(args={"name": v.string()})
def env(ctx: QueryCtx, name: str) -> str | None:
    return os.environ.get(name)


@query(args={})
def logs(ctx: QueryCtx) -> str:
    print("hello", "world")
    print("no newline", end="")
    logger.info("info %d", 1)
    logger.warning("careful")
    logger.error("bad")
    logger.debug("hidden by default")
    return "ok"


@query(args={"url": v.string()})
def fetch(ctx: QueryCtx, url: str) -> str:
    with urllib.request.urlopen(url) as response:
        return str(response.status)


@query(args={})
def boom(ctx: QueryCtx) -> None:
    helper_that_fails()


def helper_that_fails() -> None:
    raise ValueError("boom")


@query(args={})
def spin(ctx: QueryCtx) -> None:
    while True:
        pass


@query(args={})
def spin_in_c(ctx: QueryCtx) -> None:
    import itertools

    sum(itertools.count())


@query(args={})
def nap(ctx: QueryCtx) -> str:
    time.sleep(0.05)
    return "rested"


@mutation(args={})
def crash(ctx: MutationCtx) -> None:
    os._exit(3)


@query(args={})
def bad_return(ctx: QueryCtx) -> Any:
    return {"tags": {"a", "b"}}


@query(args={})
def huge_int(ctx: QueryCtx) -> int:
    return 2**60


@query(args={})
async def gathered(ctx: AsyncQueryCtx) -> Any:
    import asyncio

    docs = await asyncio.gather(
        ctx.db.query("messages").take(1),
        ctx.db.query("channels").take(1),
        ctx.auth.get_user_identity(),
    )
    return [len(docs[0]), len(docs[1]), docs[2]]


@query(args={})
def missing_index(ctx: QueryCtx) -> Any:
    try:
        return ctx.db.query("messages").with_index("nope").collect()
    except Exception as e:
        return f"{type(e).__name__}: {e}"


@mutation(args={"delay": v.float64()})
def later(ctx: MutationCtx, delay: float) -> str:
    return ctx.scheduler.run_after(delay, "messages:clear", {})


@mutation(args={})
def upload_url(ctx: MutationCtx) -> str:
    return ctx.storage.generate_upload_url()


@query(args={})
def first_author(ctx: QueryCtx) -> Any:
    for doc in ctx.db.query("messages"):
        return doc["author"]
    return None


@action(args={"url": v.string()})
def fetch_in_action(ctx: Any, url: str) -> str:
    with urllib.request.urlopen(url) as response:
        return str(response.read().decode())


@query(args={"n": v.float64()})
def chatty(ctx: QueryCtx, n: float) -> float:
    for i in range(int(n)):
        print(f"line {i}")
    print("x" * 40000)
    return n


@mutation(args={"id": v.id("messages")})
def read_via_run_query(ctx: MutationCtx, id: str) -> Any:
    return ctx.run_query(internal.messages.body_of, {"id": id})


@query(args={})
def scheduled(ctx: QueryCtx) -> Any:
    jobs = ctx.db.system.query("_scheduled_functions").collect()
    first = ctx.db.system.get(jobs[0]["_id"]) if jobs else None
    try:
        ctx.db.query("_scheduled_functions")
    except ValueError as e:
        refused = str(e)
    return {"count": len(jobs), "first": first, "refused": refused}


@action(args={})
def schedule_and_store(ctx: ActionCtx) -> Any:
    at = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    job = ctx.scheduler.run_at(at, internal.messages.clear, {"reason": "new year"})
    ctx.scheduler.cancel(job)
    try:
        ctx.storage.store(b"hi", "text/plain")
    except Exception as e:
        stored = f"{type(e).__name__}: {e}"
    return {"job": job, "stored": stored}


@query(args={})
async def authors_async(ctx: AsyncQueryCtx) -> Any:
    authors = []
    async for doc in ctx.db.query("messages").order("desc"):
        authors.append(doc["author"])
    first = await ctx.db.query("messages").first()
    return {"authors": authors, "first": None if first is None else first["author"]}
