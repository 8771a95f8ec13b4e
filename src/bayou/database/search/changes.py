"""How search and vector indexes take part in schema changes and index diffs."""

from __future__ import annotations

from typing import Any

from bayou.database.catalog import IndexInfo


def same_definition(index: IndexInfo, spec: Any) -> bool:
    """Whether an existing index is what the schema's `IndexSpec` declares (else: rebuild)."""
    return (
        index.fields == spec.fields
        and index.kind == spec.kind
        and index.dimensions == spec.dimensions
    )


def index_change(table: str, index: IndexInfo) -> Any:
    """The `IndexChange` describing an existing index (for "removed" in a diff)."""
    from bayou.database.schema_change import IndexChange

    return IndexChange(table, index.name, index.fields, index.staged, index.kind, index.dimensions)


def search_index_json(change: Any) -> dict[str, Any]:
    """A search or vector index in the index diff the CLI prints (`formatIndex`)."""
    out: dict[str, Any] = {"name": f"{change.table}.{change.name}", "type": change.kind}
    if change.kind == "search":
        out["searchField"] = change.fields[0]
    else:
        out["vectorField"] = change.fields[0]
        out["dimensions"] = change.dimensions
    out["filterFields"] = list(change.fields[1:])
    if change.staged:
        out["staged"] = True
    return out


async def sync_staged_flags(tx: Any, schema: Any, namespace: str) -> None:
    """Un-stage (or stage) existing indexes whose definition is unchanged but whose
    `staged` flag the finishing schema changed: `staged: false` makes a built index
    queryable, as on Convex. Used for every kind of index."""
    from bayou.database.catalog import INDEXES
    from bayou.values import ids

    for table_schema in schema.tables.values():
        table = tx.catalog.table(table_schema.name, namespace)
        if table is None:
            continue
        for spec in table_schema.indexes.values():
            index = table.indexes.get(spec.name)
            if index is None or index.staged == spec.staged or not same_definition(index, spec):
                continue
            await tx.patch(
                ids.encode_id(INDEXES.number, index.id), {"staged": spec.staged}, system=True
            )
