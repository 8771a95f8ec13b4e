"""Vector queries: `ctx.vectorSearch(table, index, {vector, limit, filter})` checked and run.

The syscall's `query` is `{indexName, limit?, vector, expressions}`; `expressions` is null,
`{"$eq": [{"$field": f}, {"$literal": v}]}` or `{"$or": [<eq>…]}` (the official
`vector_search_impl` builder). Errors carry Convex's codes and texts (`crates/vector`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from bayou.database.catalog import IndexInfo, TableInfo
from bayou.errors import BadRequest
from bayou.values import UNDEFINED, sort_key
from bayou.values.json import from_json

if TYPE_CHECKING:
    from bayou.database.database import Database

MAX_VECTOR_RESULTS = 256
DEFAULT_LIMIT = 10
MAX_FILTER_LENGTH = 64


async def vector_search(db: Database, query: Any, namespace: str = "") -> list[dict[str, Any]]:
    """`[{_id, _score}]`, best first, at the latest committed state."""
    if not isinstance(query, dict):
        raise BadRequest("vectorSearch needs a query object", code="InvalidVectorQuery")
    table, index = _index(db, query.get("indexName"), namespace)
    limit = _limit(query.get("limit"))
    vector = _vector(query.get("vector"), index.dimensions or 0)
    conditions = _conditions(f"{table.name}.{index.name}", index, query.get("expressions"))
    cache = await db.vectors.cache(table, index)
    return cache.search(vector, limit, conditions)


def _index(db: Database, name: Any, namespace: str) -> tuple[TableInfo, IndexInfo]:
    if not isinstance(name, str) or "." not in name:
        raise BadRequest(
            f"vectorSearch needs an indexName like 'table.index', got {name!r}",
            code="InvalidVectorQuery",
        )
    table_name, index_name = name.rsplit(".", 1)
    table = db.catalog.table(table_name, namespace)
    index = table.indexes.get(index_name) if table is not None else None
    if table is None or index is None:
        raise BadRequest(
            f"Index {name} not found. Declare it with .vectorIndex() in the schema and deploy.",
            code="IndexNotFoundError",
        )
    if index.kind != "vector":
        raise BadRequest(f"Index {name} is not a vector index", code="IndexNotAVectorIndexError")
    if not index.queryable:
        state = "staged" if index.staged else "backfilling"
        raise BadRequest(
            f"Index {name} is currently {state} and not available to query yet.",
            code="IndexStagedError" if index.staged else "IndexBackfillingError",
        )
    return table, index


def _limit(raw: Any) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise BadRequest(
            f"The limit of a vector search must be a positive integer, got {raw!r}.",
            code="InvalidVectorQuery",
        )
    if raw > MAX_VECTOR_RESULTS:
        raise BadRequest(
            f"Vector queries can fetch at most {MAX_VECTOR_RESULTS} results, requested {raw}.",
            code="VectorLimitTooLargeError",
        )
    return raw


def _vector(raw: Any, dimensions: int) -> np.ndarray:
    if not isinstance(raw, list) or not raw:
        raise BadRequest(
            "`vector` must be a non-empty Array in vectorSearch", code="InvalidVectorQuery"
        )
    if len(raw) != dimensions:
        raise BadRequest(
            f"Expected a vector with dimensions {dimensions}, received {len(raw)}.",
            code="VectorDimensionsMismatch",
        )
    for x in raw:
        # JSON has no NaN or infinity: JS sends them as null.
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise BadRequest(
                f"`vector` must contain only finite numbers, got {x!r} (NaN and Infinity "
                "reach the server as null).",
                code="InvalidVectorQuery",
            )
    vec = np.asarray(raw, dtype=np.float32)
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


def _conditions(printable: str, index: IndexInfo, expr: Any) -> list[tuple[int, bytes]] | None:
    """(filter field position, value sort key) alternatives, or None for no filter."""
    if expr is None:
        return None
    eqs = expr["$or"] if isinstance(expr, dict) and "$or" in expr else [expr]
    if not isinstance(eqs, list):
        raise BadRequest(
            "Filters should be a combination of `q.eq` and `q.or`.",
            code="InvalidVectorSearchFilter",
        )
    if len(eqs) > MAX_FILTER_LENGTH:
        raise BadRequest(
            f"Vector query against {printable} has too many conditions. Max: "
            f"{MAX_FILTER_LENGTH} Actual: {len(eqs)}",
            code="TooManyElementsInVectorQueryError",
        )
    filter_fields = index.fields[1:]
    out: list[tuple[int, bytes]] = []
    for eq in eqs:
        operands = eq.get("$eq") if isinstance(eq, dict) and len(eq) == 1 else None
        if (
            not isinstance(operands, list)
            or len(operands) != 2
            or not isinstance(operands[0], dict)
            or not isinstance(operands[0].get("$field"), str)
            or not isinstance(operands[1], dict)
            or "$literal" not in operands[1]
        ):
            raise BadRequest(
                "Filters should be a combination of `q.eq` and `q.or`."
                if not isinstance(operands, list)
                else "`q.eq` must take a field path as its first argument and a value as its "
                "second",
                code="InvalidVectorSearchFilter",
            )
        path = operands[0]["$field"]
        if path not in filter_fields:
            raise BadRequest(
                f'Vector query against {printable} contains a filter on "{path}" but that '
                "field isn't indexed for filtering in `filterFields`.",
                code="IncorrectVectorFilterField",
            )
        literal = operands[1]["$literal"]
        value = UNDEFINED if literal == {"$undefined": None} else from_json(literal)
        out.append((filter_fields.index(path) + 1, sort_key.encode(value)))
    return out
