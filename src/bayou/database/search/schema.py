"""Search and vector index declarations of a schema (`searchIndexes`, `vectorIndexes` …).

Both kinds live in the same per-table index namespace as database indexes (Convex counts
them against the same 32-index limit). Their `fields` are the search or vector field
first, then the filter fields.
"""

from __future__ import annotations

from typing import Any

from bayou.errors import BadRequest
from bayou.values import limits

MAX_FILTER_FIELDS = 16
MIN_VECTOR_DIMENSIONS = 2
MAX_VECTOR_DIMENSIONS = 4096
MAX_VECTOR_INDEXES = 4  # per table (docs/search/vector-search.mdx)
RESERVED = ("by_id", "by_creation_time", "by_id_and_creation_time")


def parse_search_indexes(table: str, t: dict[str, Any]) -> list[dict[str, Any]]:
    """IndexSpec keyword arguments for every search and vector index of table JSON `t`."""
    out: list[dict[str, Any]] = []
    for key, staged in (("searchIndexes", False), ("stagedSearchIndexes", True)):
        for raw in t.get(key) or ():
            name = _name(table, raw)
            field = _field(table, name, raw, "searchField")
            filters = _filters(table, name, raw)
            out.append(
                {"name": name, "fields": (field, *filters), "staged": staged, "kind": "search"}
            )
    for key, staged in (("vectorIndexes", False), ("stagedVectorIndexes", True)):
        for raw in t.get(key) or ():
            name = _name(table, raw)
            field = _field(table, name, raw, "vectorField")
            filters = _filters(table, name, raw)
            dims = raw.get("dimensions")
            if isinstance(dims, float) and dims.is_integer():
                dims = int(dims)
            if not isinstance(dims, int) or isinstance(dims, bool):
                raise BadRequest(
                    f"Vector index {table}.{name} needs `dimensions`, an integer",
                    code="InvalidVectorDimensionError",
                )
            if not MIN_VECTOR_DIMENSIONS <= dims <= MAX_VECTOR_DIMENSIONS:
                raise BadRequest(
                    f"Dimensions {dims} must be between {MIN_VECTOR_DIMENSIONS} and "
                    f"{MAX_VECTOR_DIMENSIONS}.",
                    code="InvalidVectorDimensionError",
                )
            out.append(
                {
                    "name": name,
                    "fields": (field, *filters),
                    "staged": staged,
                    "kind": "vector",
                    "dimensions": dims,
                }
            )
    vectors = sum(1 for spec in out if spec["kind"] == "vector")
    if vectors > MAX_VECTOR_INDEXES:
        raise BadRequest(
            f"Table {table!r} has {vectors} vector indexes; a table may have at most "
            f"{MAX_VECTOR_INDEXES}.",
            code="TooManyVectorIndexes",
        )
    return out


def _name(table: str, raw: Any) -> str:
    if not isinstance(raw, dict) or not isinstance(raw.get("indexDescriptor"), str):
        raise BadRequest(
            f"Index of {table!r} needs an `indexDescriptor` string", code="InvalidSchema"
        )
    name = raw["indexDescriptor"]
    limits.check_identifier(name, what="index name")
    if name in RESERVED:
        raise BadRequest(
            f"Index name {name!r} on {table!r} is reserved; pick another name", code="InvalidSchema"
        )
    return name


def _field(table: str, name: str, raw: dict[str, Any], key: str) -> str:
    field = raw.get(key)
    if not isinstance(field, str) or not field:
        raise BadRequest(f"Index {table}.{name} needs a `{key}` field path", code="InvalidSchema")
    _check_path(table, name, field)
    return field


def _filters(table: str, name: str, raw: dict[str, Any]) -> tuple[str, ...]:
    fields = raw.get("filterFields") or []
    if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
        raise BadRequest(
            f"Index {table}.{name}: `filterFields` must be a list of field paths",
            code="InvalidSchema",
        )
    if len(fields) > MAX_FILTER_FIELDS:
        raise BadRequest(
            f"Index {table}.{name} has {len(fields)} filter fields; the limit is "
            f"{MAX_FILTER_FIELDS}",
            code="TooManyFilterFields",
        )
    if len(set(fields)) != len(fields):
        raise BadRequest(f"Index {table}.{name} repeats a filter field", code="InvalidSchema")
    for f in fields:
        _check_path(table, name, f)
    return tuple(fields)


def _check_path(table: str, name: str, path: str) -> None:
    if path.startswith("_") and path != "_creationTime":
        raise BadRequest(
            f"Index {table}.{name} uses system field {path!r}, which cannot be indexed",
            code="InvalidSchema",
        )
