"""Database queries: `ctx.db.query("messages").with_index(...).order("desc").take(10)`.

The builder produces the serialized query of the npm package (`{"source": …,
"operators": […]}`, db-semantics.md §3.1); filters and index ranges serialize exactly as
its `filterBuilderImpl` / `IndexRangeBuilderImpl` do. Builders are immutable values: each
step returns a new query, and a query can be run any number of times.

Results stream in batches (Bayou's `bayou/queryStreamBatch` syscall): one round trip per
batch, never asking for more documents than a `take(n)` / `first()` / `unique()` needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Final, Literal, Self

from bayou.runtimes.python.api.syscalls import SYSCALL_VERSION, CallInfo, Op, arun, run
from bayou.runtimes.python.api.values import to_convex
from bayou.values import UNDEFINED
from bayou.values.json import from_json, to_json

Document = dict[str, Any]
Order = Literal["asc", "desc"]

MAX_QUERY_OPERATORS: Final = 256
FIRST_BATCH: Final = 32
MAX_BATCH: Final = 1024


# --------------------------------------------------------------------------- expressions


class Expression:
    """A filter expression (built with the `q` of `.filter(lambda q: …)`)."""

    __slots__ = ("json",)

    def __init__(self, json: Any) -> None:
        self.json = json

    def __repr__(self) -> str:
        return f"Expression({self.json!r})"


def _literal_json(value: Any, where: str) -> Any:
    if value is UNDEFINED:
        return {"$undefined": None}
    return to_json(to_convex(value, where))


def serialize_expression(expr: Any) -> Any:
    """An expression's JSON; a plain value becomes `{"$literal": …}`."""
    if isinstance(expr, Expression):
        return expr.json
    return {"$literal": _literal_json(expr, "filter()")}


class FilterBuilder:
    """The `q` of `.filter(lambda q: q.eq(q.field("author"), "ada"))`.

    Operands are expressions or plain values; comparisons follow Convex's total order
    (a missing field is less than `None`; Int64 and floats never compare equal).
    """

    __slots__ = ()

    def field(self, path: str) -> Expression:
        """The value of a (dotted) field of the document, or undefined when missing."""
        if not isinstance(path, str):
            raise TypeError(f"q.field() needs a field path string, not {path!r}")
        return Expression({"$field": path})

    def eq(self, left: Any, right: Any) -> Expression:
        """`left == right`."""
        return Expression({"$eq": [serialize_expression(left), serialize_expression(right)]})

    def neq(self, left: Any, right: Any) -> Expression:
        """`left != right`."""
        return Expression({"$neq": [serialize_expression(left), serialize_expression(right)]})

    def lt(self, left: Any, right: Any) -> Expression:
        """`left < right`."""
        return Expression({"$lt": [serialize_expression(left), serialize_expression(right)]})

    def lte(self, left: Any, right: Any) -> Expression:
        """`left <= right`."""
        return Expression({"$lte": [serialize_expression(left), serialize_expression(right)]})

    def gt(self, left: Any, right: Any) -> Expression:
        """`left > right`."""
        return Expression({"$gt": [serialize_expression(left), serialize_expression(right)]})

    def gte(self, left: Any, right: Any) -> Expression:
        """`left >= right`."""
        return Expression({"$gte": [serialize_expression(left), serialize_expression(right)]})

    def add(self, left: Any, right: Any) -> Expression:
        """`left + right` (both float64 or both Int64)."""
        return Expression({"$add": [serialize_expression(left), serialize_expression(right)]})

    def sub(self, left: Any, right: Any) -> Expression:
        """`left - right`."""
        return Expression({"$sub": [serialize_expression(left), serialize_expression(right)]})

    def mul(self, left: Any, right: Any) -> Expression:
        """`left * right`."""
        return Expression({"$mul": [serialize_expression(left), serialize_expression(right)]})

    def div(self, left: Any, right: Any) -> Expression:
        """`left / right`."""
        return Expression({"$div": [serialize_expression(left), serialize_expression(right)]})

    def mod(self, left: Any, right: Any) -> Expression:
        """`left % right`."""
        return Expression({"$mod": [serialize_expression(left), serialize_expression(right)]})

    def neg(self, value: Any) -> Expression:
        """`-value`."""
        return Expression({"$neg": serialize_expression(value)})

    def and_(self, *exprs: Any) -> Expression:
        """All of `exprs` (booleans)."""
        return Expression({"$and": [serialize_expression(e) for e in exprs]})

    def or_(self, *exprs: Any) -> Expression:
        """Any of `exprs` (booleans)."""
        return Expression({"$or": [serialize_expression(e) for e in exprs]})

    def not_(self, value: Any) -> Expression:
        """The negation of a boolean."""
        return Expression({"$not": serialize_expression(value)})


class VectorFilter:
    """The `q` of `ctx.vector_search(table, index, {"vector": v, "filter": lambda q: …})`:
    equalities on the index's filter fields, and `or_` of them (as in Convex)."""

    __slots__ = ()

    def eq(self, field: str, value: Any) -> Expression:
        """Documents whose filter field `field` equals `value`."""
        if not isinstance(field, str):
            raise TypeError("The first argument to `q.eq` must be a field name.")
        return Expression({"$eq": [{"$field": field}, serialize_expression(value)]})

    def or_(self, *exprs: Expression) -> Expression:
        """Documents matching any of `exprs` (each a `q.eq`)."""
        return Expression({"$or": [serialize_expression(e) for e in exprs]})


class IndexRange:
    """The `q` of `.with_index(name, lambda q: q.eq("a", 1).gt("b", 2))`.

    Equalities on a prefix of the index's fields, then at most one lower bound (`gt` or
    `gte`) and one upper bound (`lt` or `lte`) on the next field.
    """

    __slots__ = ("_range",)

    def __init__(self, expressions: tuple[dict[str, Any], ...] = ()) -> None:
        self._range = expressions

    def _add(self, kind: str, field: str, value: Any) -> IndexRange:
        if not isinstance(field, str):
            raise TypeError(f"The field of an index range must be a string, not {field!r}")
        expr = {"type": kind, "fieldPath": field, "value": _literal_json(value, "with_index()")}
        return IndexRange((*self._range, expr))

    def eq(self, field: str, value: Any) -> IndexRange:
        """`field == value` (`bayou.values.UNDEFINED` matches documents without it)."""
        return self._add("Eq", field, value)

    def gt(self, field: str, value: Any) -> IndexRange:
        """`field > value`."""
        return self._add("Gt", field, value)

    def gte(self, field: str, value: Any) -> IndexRange:
        """`field >= value`."""
        return self._add("Gte", field, value)

    def lt(self, field: str, value: Any) -> IndexRange:
        """`field < value`."""
        return self._add("Lt", field, value)

    def lte(self, field: str, value: Any) -> IndexRange:
        """`field <= value`."""
        return self._add("Lte", field, value)

    def export(self) -> list[dict[str, Any]]:
        """The serialized range expressions."""
        return [dict(e) for e in self._range]


class SearchFilter:
    """The `q` of `.with_search_index(name, lambda q: q.search("body", "hi").eq("x", 1))`."""

    __slots__ = ("_filters",)

    def __init__(self, filters: tuple[dict[str, Any], ...] = ()) -> None:
        self._filters = filters

    def search(self, field: str, query: str) -> SearchFilter:
        """Full-text search `query` in the index's search field."""
        if not isinstance(field, str) or not isinstance(query, str):
            raise TypeError("q.search(field, query) takes two strings")
        return SearchFilter(
            (*self._filters, {"type": "Search", "fieldPath": field, "value": query})
        )

    def eq(self, field: str, value: Any) -> SearchFilter:
        """Only documents whose filter field `field` equals `value`."""
        if not isinstance(field, str):
            raise TypeError(f"The field of q.eq() must be a string, not {field!r}")
        expr = {"type": "Eq", "fieldPath": field, "value": _literal_json(value, "q.eq()")}
        return SearchFilter((*self._filters, expr))

    def export(self) -> list[dict[str, Any]]:
        """The serialized search filters."""
        return [dict(f) for f in self._filters]


_FILTER: Final = FilterBuilder()


# --------------------------------------------------------------------------- streams


def _limit_of(operators: list[dict[str, Any]]) -> int | None:
    """The most documents the pipeline can produce (the smallest `limit`), or None."""
    limits = [int(op["limit"]) for op in operators if "limit" in op]
    return min(limits) if limits else None


class _Stream:
    """One run of a query in batches: which syscall to make next, and its results."""

    def __init__(self, info: CallInfo, query: dict[str, Any], first_batch: int) -> None:
        self.info = info
        self.query = query
        self.query_id: int | None = None
        self.limit = _limit_of(query["operators"])
        self.received = 0
        self.done = False
        self.batch = first_batch

    def next_request(self) -> tuple[str, dict[str, Any]] | None:
        if self.done:
            return None
        want = self.batch
        if self.limit is not None:
            want = min(want, self.limit - self.received)
            if want <= 0:
                return None
        self.batch = min(self.batch * 2, MAX_BATCH)
        if self.query_id is None:
            self.query_id = self.info.new_query_id()
            args = {
                "queryId": self.query_id,
                "query": self.query,
                "version": SYSCALL_VERSION,
                "max": want,
            }
        else:
            args = {"queryId": self.query_id, "max": want}
        return ("bayou/queryStreamBatch", args)

    def accept(self, result: Any) -> list[Document]:
        values = result["values"]
        self.received += len(values)
        if result["done"]:
            self.done = True
        return [from_json(v) for v in values]  # type: ignore[misc]

    def close(self) -> None:
        """Tell the backend an unfinished stream is abandoned (`1.0/queryCleanup`)."""
        if self.query_id is not None and not self.done:
            self.done = True
            self.info.channel.notify("1.0/queryCleanup", {"queryId": self.query_id})


def _collect(info: CallInfo, query: dict[str, Any]) -> Op[list[Document]]:
    stream = _Stream(info, query, MAX_BATCH)
    out: list[Document] = []
    try:
        while (request := stream.next_request()) is not None:
            out.extend(stream.accept((yield request)))
    finally:
        stream.close()
    return out


def _page(info: CallInfo, query: dict[str, Any], options: Any) -> Op[dict[str, Any]]:
    if not isinstance(options, dict):
        raise TypeError('paginate() needs the pagination options: {"numItems": n, "cursor": None}')
    num_items = options.get("numItems")
    if isinstance(num_items, bool) or not isinstance(num_items, (int, float)) or num_items < 0:
        raise ValueError(f"`options.numItems` must be a positive number. Received `{num_items}`.")
    args: dict[str, Any] = {
        "query": query,
        "cursor": options.get("cursor"),
        "endCursor": options.get("endCursor"),
        "pageSize": float(num_items),
        "maximumRowsRead": _optional_number(options.get("maximumRowsRead")),
    }
    if options.get("maximumBytesRead") is not None:
        args["maximumBytesRead"] = _optional_number(options["maximumBytesRead"])
    args["version"] = SYSCALL_VERSION
    result = yield ("1.0/queryPage", args)
    page: dict[str, Any] = {
        "page": [from_json(d) for d in result["page"]],
        "isDone": result["isDone"],
        "continueCursor": result["continueCursor"],
    }
    for key in ("splitCursor", "pageStatus"):
        if key in result:
            page[key] = result[key]
    return page


def _optional_number(value: Any) -> float | None:
    return None if value is None else float(value)


# --------------------------------------------------------------------------- builders


class _QueryBase:
    """The builder part shared by `Query` and `AsyncQuery`."""

    __slots__ = ("_info", "_operators", "_source")

    def __init__(
        self, info: CallInfo, source: dict[str, Any], operators: tuple[dict[str, Any], ...] = ()
    ) -> None:
        self._info = info
        self._source = source
        self._operators = operators

    @property
    def table_name(self) -> str:
        """The table this query reads."""
        if self._source["type"] == "FullTableScan":
            return str(self._source["tableName"])
        return str(self._source["indexName"]).split(".")[0]

    def _derive(self, source: dict[str, Any], operators: tuple[dict[str, Any], ...]) -> Self:
        return type(self)(self._info, source, operators)

    def _untouched(self, method: str) -> None:
        source = self._source
        if source["type"] != "FullTableScan" or source["order"] is not None or self._operators:
            raise ValueError(
                f"{method}() must come first, right after ctx.db.query(...): "
                f'ctx.db.query("{self.table_name}").{method}(...)'
            )

    def with_index(
        self, index_name: str, index_range: Callable[[IndexRange], IndexRange] | None = None
    ) -> Self:
        """Read through the index `index_name`, restricted by `index_range` (equalities on
        its leading fields, then bounds on the next one)."""
        self._untouched("with_index")
        if not isinstance(index_name, str):
            raise TypeError(f"with_index() needs an index name, not {index_name!r}")
        range_ = IndexRange()
        if index_range is not None:
            range_ = index_range(range_)
            if not isinstance(range_, IndexRange):
                raise TypeError(
                    "The index range function must return the range it built: "
                    'lambda q: q.eq("field", value)'
                )
        source = {
            "type": "IndexRange",
            "indexName": f"{self.table_name}.{index_name}",
            "range": range_.export(),
            "order": None,
        }
        return self._derive(source, ())

    def with_search_index(
        self, index_name: str, search_filter: Callable[[SearchFilter], SearchFilter]
    ) -> Self:
        """Full-text search through the search index `index_name` (results in relevance
        order)."""
        self._untouched("with_search_index")
        filters = search_filter(SearchFilter())
        if not isinstance(filters, SearchFilter):
            raise TypeError(
                "The search filter function must return what it built: "
                'lambda q: q.search("body", text)'
            )
        source = {
            "type": "Search",
            "indexName": f"{self.table_name}.{index_name}",
            "filters": filters.export(),
        }
        return self._derive(source, ())

    def order(self, order: Order) -> Self:
        """`"asc"` (the default) or `"desc"` order of the index (or of `_creationTime`)."""
        if order not in ("asc", "desc"):
            raise ValueError(f'order() takes "asc" or "desc", not {order!r}')
        if self._source["type"] == "Search":
            raise ValueError(
                "Search queries must always be in relevance order. Can not set order manually."
            )
        if self._source["order"] is not None:
            raise ValueError("Queries may only specify order at most once")
        return self._derive({**self._source, "order": order}, self._operators)

    def filter(self, predicate: Callable[[FilterBuilder], Any]) -> Self:
        """Keep the documents for which `predicate(q)` is true (rows it rejects still
        count as read: prefer an index for selective conditions)."""
        if len(self._operators) >= MAX_QUERY_OPERATORS:
            raise ValueError(
                f"Can't construct query with more than {MAX_QUERY_OPERATORS} operators"
            )
        expr = serialize_expression(predicate(_FILTER))
        return self._derive(self._source, (*self._operators, {"filter": expr}))

    def limit(self, n: int) -> Self:
        """At most `n` documents (what `take(n)` uses)."""
        count = _count(n, "limit")
        return self._derive(self._source, (*self._operators, {"limit": count}))

    def _json(self) -> dict[str, Any]:
        return {"source": dict(self._source), "operators": list(self._operators)}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._json()!r}>"


def _count(n: Any, method: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, float)) or n < 0 or n != int(n):
        raise ValueError(f"{method}() needs a non-negative integer, not {n!r}")
    return int(n)


def _unique(table: str, docs: list[Document]) -> Document | None:
    if not docs:
        return None
    if len(docs) > 1:
        raise ValueError(
            f"unique() query returned more than one result from table {table}:\n"
            f" [{docs[0].get('_id')}, {docs[1].get('_id')}, ...]"
        )
    return docs[0]


class Query(_QueryBase):
    """A query of a `def` function: terminals return results directly."""

    __slots__ = ()

    def collect(self) -> list[Document]:
        """Every matching document."""
        return run(self._info, _collect(self._info, self._json()))

    def take(self, n: int) -> list[Document]:
        """The first `n` matching documents."""
        return self.limit(n).collect()

    def first(self) -> Document | None:
        """The first matching document, or None."""
        docs = self.take(1)
        return docs[0] if docs else None

    def unique(self) -> Document | None:
        """The only matching document, or None; raises if there are several."""
        return _unique(self.table_name, self.take(2))

    def paginate(self, options: dict[str, Any]) -> dict[str, Any]:
        """One page: `{"page", "isDone", "continueCursor", …}` for `{"numItems", "cursor"}`
        (one paginated query per function)."""
        return run(self._info, _page(self._info, self._json(), options))

    def __iter__(self) -> Iterator[Document]:
        info = self._info
        stream = _Stream(info, self._json(), FIRST_BATCH)
        try:
            while (request := stream.next_request()) is not None:
                yield from stream.accept(run(info, _one(request)))
        finally:
            stream.close()


class AsyncQuery(_QueryBase):
    """A query of an `async def` function: await its terminals, `async for` over it."""

    __slots__ = ()

    async def collect(self) -> list[Document]:
        """Every matching document."""
        return await arun(self._info, _collect(self._info, self._json()))

    async def take(self, n: int) -> list[Document]:
        """The first `n` matching documents."""
        return await self.limit(n).collect()

    async def first(self) -> Document | None:
        """The first matching document, or None."""
        docs = await self.take(1)
        return docs[0] if docs else None

    async def unique(self) -> Document | None:
        """The only matching document, or None; raises if there are several."""
        return _unique(self.table_name, await self.take(2))

    async def paginate(self, options: dict[str, Any]) -> dict[str, Any]:
        """One page: `{"page", "isDone", "continueCursor", …}` for `{"numItems", "cursor"}`."""
        return await arun(self._info, _page(self._info, self._json(), options))

    async def __aiter__(self) -> AsyncIterator[Document]:
        info = self._info
        stream = _Stream(info, self._json(), FIRST_BATCH)
        try:
            while (request := stream.next_request()) is not None:
                for doc in stream.accept(await arun(info, _one(request))):
                    yield doc
        finally:
            stream.close()


def _one(request: tuple[str, dict[str, Any]]) -> Op[Any]:
    return (yield request)
