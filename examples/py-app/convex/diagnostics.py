"""Diagnostics: value round trips, identity, settings, deliberate failures, a runaway query."""

import logging
import os
from typing import Any

from bayou import ConvexError, QueryCtx, query, v


@query(args={"value": v.any()})
def echo(ctx: QueryCtx, value: Any) -> Any:
    """Values cross the wire unchanged: int64, bytes, nested objects and arrays."""
    return value


@query(args={})
def whoami(ctx: QueryCtx) -> str | None:
    identity = ctx.auth.get_user_identity()
    return None if identity is None else identity["subject"]


@query(args={"name": v.string()})
def setting(ctx: QueryCtx, name: str) -> str | None:
    return os.environ.get(name)


@query(args={"convex": v.boolean()})
def fail(ctx: QueryCtx, convex: bool) -> None:
    logging.warning("about to fail")
    if convex:
        raise ConvexError({"code": "DELIBERATE", "n": 1})
    raise Exception("deliberate failure")


@query(args={})
def spin(ctx: QueryCtx) -> None:
    """A runaway query: the time limit stops it, other calls go on being served."""
    while True:
        pass
