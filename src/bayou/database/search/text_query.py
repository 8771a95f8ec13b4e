"""Search queries: the `Search` source of a serialized query, checked against its index.

`{"type": "Search", "indexName": "t.idx", "filters": [{"type": "Search", "fieldPath", "value"},
{"type": "Eq", "fieldPath", "value"} …]}` (db-semantics.md §3.8). Errors carry Convex's
codes and texts (`crates/search/src/lib.rs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bayou.database.catalog import IndexInfo, TableInfo
from bayou.database.index_key import field_value
from bayou.database.search.tokens import MAX_FILTER_CONDITIONS, QueryTerms
from bayou.errors import BadRequest
from bayou.values import UNDEFINED, sort_key
from bayou.values.json import from_json


def parse_search_source(source: dict[str, Any]) -> tuple[str, str, tuple[dict[str, Any], ...]]:
    """(table, index, filters) of a `Search` source; the filters are checked later,
    against the index they name."""
    name = source.get("indexName")
    if not isinstance(name, str) or "." not in name:
        raise BadRequest(
            f"Search needs an indexName like 'table.index', got {name!r}", code="InvalidQuery"
        )
    filters = source.get("filters")
    if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
        raise BadRequest("Search needs a list of filters", code="InvalidQuery")
    table, index = name.rsplit(".", 1)
    return table, index, tuple(filters)


@dataclass(frozen=True, slots=True)
class CompiledSearch:
    """A search checked against its index: the terms, and equality filters as
    (position of the filter field in the index, path, value)."""

    terms: QueryTerms
    eqs: tuple[tuple[int, str, Any], ...]

    def matches_filters(self, doc: dict[str, Any]) -> bool:
        return all(
            sort_key.encode(field_value(doc, path)) == sort_key.encode(value)
            for _, path, value in self.eqs
        )

    def matches_terms(self, terms: list[str], prefix_below: str | None = None) -> bool:
        """Whether a document with `terms` matches; `prefix_below`: the first term the
        prefix no longer expands to (Convex's 16-term limit), if it was reached."""
        exact, prefix = set(self.terms.exact), self.terms.prefix
        if prefix is None:
            return False
        return any(
            t in exact or (t.startswith(prefix) and (prefix_below is None or t < prefix_below))
            for t in terms
        )


def compile_search(
    table: TableInfo, index: IndexInfo, filters: tuple[dict[str, Any], ...]
) -> CompiledSearch:
    printable = f"{table.name}.{index.name}"
    search_field, filter_fields = index.fields[0], index.fields[1:]
    text: str | None = None
    eqs: list[tuple[int, str, Any]] = []
    for f in filters:
        path = f.get("fieldPath")
        if f.get("type") == "Search":
            if path != search_field:
                raise BadRequest(
                    f"Search query against {printable} contains a search filter against "
                    f'"{path}", which doesn\'t match the indexed `searchField` "{search_field}".',
                    code="IncorrectSearchField",
                )
            if text is not None:
                raise BadRequest(
                    f'Search query against {printable} contains multiple search filters against "{path}". Only one is allowed.',
                    code="DuplicateSearchFiltersError",
                )
            value = f.get("value")
            if not isinstance(value, str):
                raise BadRequest(
                    f"The search text of a search query against {printable} must be a string",
                    code="InvalidSearchQuery",
                )
            text = value
        elif f.get("type") == "Eq":
            if path not in filter_fields:
                raise BadRequest(
                    f'Search query against {printable} contains an equality filter on "{path}" '
                    "but that field isn't indexed for filtering in `filterFields`.",
                    code="IncorrectFilterFieldError",
                )
            raw = f.get("value")
            value = UNDEFINED if raw == {"$undefined": None} or "value" not in f else from_json(raw)
            eqs.append((filter_fields.index(path) + 1, path, value))
        else:
            raise BadRequest(f"Unknown search filter {f!r}", code="InvalidQuery")
    if text is None:
        raise BadRequest(
            f"Search query against {printable} does not contain any search filters. You must "
            f'include a search filter like `q.search("{search_field}", searchText)`.',
            code="MissingSearchFilterError",
        )
    if len(eqs) > MAX_FILTER_CONDITIONS:
        raise BadRequest(
            f"Search query against {printable} has too many filter conditions. Max: "
            f"{MAX_FILTER_CONDITIONS} Actual: {len(eqs)}",
            code="TooManyFilterConditionsInSearchQueryError",
        )
    return CompiledSearch(QueryTerms.parse(text), tuple(eqs))


def search_index_for_read(table: TableInfo, name: str) -> IndexInfo:
    """The search index `name` of `table`, queryable, or Convex's error."""
    index = table.indexes.get(name)
    printable = f"{table.name}.{name}"
    if index is None:
        known = sorted(n for n, i in table.indexes.items() if i.kind == "search")
        raise BadRequest(
            f"Index {printable} not found. (Search indexes of {table.name!r}: {known}; "
            "declare it with .searchIndex() in the schema and deploy.)",
            code="IndexNotFoundError",
        )
    if index.kind != "search":
        raise BadRequest(f"Index {printable} is not a search index", code="IndexNotASearchIndex")
    if not index.queryable:
        if index.staged:
            raise BadRequest(
                f"Index {printable} is currently staged and not available to query until it "
                "is enabled.",
                code="IndexStagedError",
            )
        raise BadRequest(
            f"Index {printable} is currently backfilling and not available to query yet.",
            code="IndexBackfillingError",
        )
    return index
