"""`1.0/actions/vectorSearch`: vector search from actions (JS `ctx.vectorSearch`, Python
`ctx.vector_search`). Text search needs no syscall of its own: it is a query source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bayou.errors import BadRequest

if TYPE_CHECKING:
    from bayou.runner.function_runner import CallContext


async def vector_search(ctx: CallContext, args: Any) -> dict[str, Any]:
    """`{results: [{_id, _score}]}` for the syscall's `query`."""
    if not isinstance(args, dict):
        raise BadRequest("vectorSearch needs an object argument", code="InvalidVectorQuery")
    # numpy comes with it: imported on first use, not at start-up.
    from bayou.database.search.vector_query import vector_search as run_vector_search

    results = await run_vector_search(ctx.runner.db, args.get("query"))
    return {"results": results}
