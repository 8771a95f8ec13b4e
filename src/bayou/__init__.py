"""Bayou: a self-hosted reactive backend in Python that speaks Convex's protocols.

This package exports the API for writing backend functions in Python (PYTHON_API.md):

    from bayou import query, mutation, action, v, ConvexError, api, internal

    @query(args={"channel": v.id("channels")})
    def list(ctx, channel):
        return ctx.db.query("messages").with_index(
            "by_channel", lambda q: q.eq("channel", channel)).take(50)

Besides the names of PYTHON_API.md, it exports `Request` and `Response` (HTTP actions),
`UserIdentity` (what `ctx.auth.get_user_identity()` returns), `components` (the functions
of installed components: `components.counter.lib.add`) and
the types of `ctx` for type checkers: `QueryCtx`, `MutationCtx`, `ActionCtx` for `def`
handlers and `AsyncQueryCtx`, `AsyncMutationCtx`, `AsyncActionCtx` for `async def` ones.
They are loaded on first use (PEP 562), so importing a subpackage stays cheap.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bayou.runtimes.python.api import (
        ActionCtx,
        AsyncActionCtx,
        AsyncMutationCtx,
        AsyncQueryCtx,
        ConvexError,
        Crons,
        HttpRouter,
        Int64,
        MutationCtx,
        QueryCtx,
        Request,
        Response,
        UserIdentity,
        action,
        api,
        components,
        define_schema,
        define_table,
        http_action,
        internal,
        internal_action,
        internal_mutation,
        internal_query,
        mutation,
        query,
        v,
    )

__version__ = "0.1.0"

__all__ = [
    "ActionCtx",
    "AsyncActionCtx",
    "AsyncMutationCtx",
    "AsyncQueryCtx",
    "ConvexError",
    "Crons",
    "HttpRouter",
    "Int64",
    "MutationCtx",
    "QueryCtx",
    "Request",
    "Response",
    "UserIdentity",
    "action",
    "api",
    "components",
    "define_schema",
    "define_table",
    "http_action",
    "internal",
    "internal_action",
    "internal_mutation",
    "internal_query",
    "mutation",
    "query",
    "v",
]


def __getattr__(name: str) -> Any:
    # The API is imported on first use, not with the package: `bayou --help`, the server
    # and the CLI import `bayou` for its subpackages and would pay ~60 ms for nothing.
    if name in __all__:
        from bayou.runtimes.python import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
