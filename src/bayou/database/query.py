"""Serialized queries (what the JS and Python query builders produce), parsed into plans.

`{"source": FullTableScan | IndexRange | Search, "operators": [{"filter": expr} | {"limit": n}]}`
(db-semantics.md §3.1). A plan names the table, the index, the range bounds, the order and
the operator pipeline; it is resolved against the catalog when the stream starts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from bayou.database.catalog import BY_CREATION_TIME
from bayou.database.filters import compile_filter
from bayou.database.index_key import RangeBound, parse_range
from bayou.database.search.text_query import parse_search_source
from bayou.errors import BadRequest

MAX_OPERATORS = 256


@dataclass(frozen=True, slots=True)
class Filter:
    predicate: Callable[[dict[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class Limit:
    n: int


Operator = Filter | Limit


@dataclass(frozen=True, slots=True)
class QueryPlan:
    table: str
    index: str
    bounds: tuple[RangeBound, ...]
    order: Literal["asc", "desc"]
    operators: tuple[Operator, ...]
    source_query: Any = field(compare=False)  # the serialized query it was parsed from
    search: tuple[dict[str, Any], ...] | None = None  # a Search source's filters

    @property
    def fingerprint(self) -> bytes:
        """Identifies the query for pagination cursors (computed only when a page needs it:
        hashing every query cost more than the rest of parsing it)."""
        return fingerprint(self.source_query)

    @classmethod
    def from_json(cls, query: Any) -> QueryPlan:
        if not isinstance(query, dict) or not isinstance(query.get("source"), dict):
            raise BadRequest("A query needs a `source` object", code="InvalidQuery")
        source = query["source"]
        kind = source.get("type")
        order = source.get("order") or "asc"
        if order not in ("asc", "desc"):
            raise BadRequest(
                f"Query order must be 'asc' or 'desc', not {order!r}", code="InvalidQuery"
            )
        if kind == "FullTableScan":
            table = source.get("tableName")
            if not isinstance(table, str):
                raise BadRequest("FullTableScan needs a tableName", code="InvalidQuery")
            index, bounds = BY_CREATION_TIME, ()
        elif kind == "IndexRange":
            name = source.get("indexName")
            if not isinstance(name, str) or "." not in name:
                raise BadRequest(
                    f"IndexRange needs an indexName like 'table.index', got {name!r}",
                    code="InvalidQuery",
                )
            table, index = name.rsplit(".", 1)
            bounds = tuple(parse_range(source.get("range") or []))
        elif kind == "Search":
            table, index, filters = parse_search_source(source)
            operators = _parse_operators(query.get("operators") or [])
            return cls(table, index, (), "asc", operators, query, filters)
        else:
            raise BadRequest(f"Unknown query source type {kind!r}", code="InvalidQuery")
        operators = _parse_operators(query.get("operators") or [])
        return cls(table, index, bounds, order, operators, query)


def _parse_operators(ops: Any) -> tuple[Operator, ...]:
    if not isinstance(ops, list):
        raise BadRequest("Query operators must be a list", code="InvalidQuery")
    if len(ops) > MAX_OPERATORS:
        raise BadRequest(f"A query may have at most {MAX_OPERATORS} operators", code="InvalidQuery")
    out: list[Operator] = []
    for op in ops:
        if isinstance(op, dict) and "filter" in op:
            out.append(Filter(compile_filter(op["filter"])))
        elif isinstance(op, dict) and "limit" in op:
            n = op["limit"]
            if isinstance(n, float) and n.is_integer():
                n = int(n)
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise BadRequest(
                    f"take() needs a non-negative integer, got {n!r}", code="InvalidQuery"
                )
            out.append(Limit(n))
        else:
            raise BadRequest(f"Unknown query operator {op!r}", code="InvalidQuery")
    return tuple(out)


def fingerprint(query: Any) -> bytes:
    """A stable digest of a serialized query (cursors are valid only for the same query)."""
    return hashlib.sha256(orjson.dumps(query, option=orjson.OPT_SORT_KEYS)).digest()[:16]
