"""`ctx.db`: read and write documents (syscalls `1.0/get`, `1.0/insert`, `1.0/shallowMerge`,
`1.0/replace`, `1.0/remove`; `normalize_id` is answered in the worker).

    doc = ctx.db.get(message_id)                 # a dict, or None
    new_id = ctx.db.insert("messages", {"body": "hi"})
    ctx.db.patch(new_id, {"likes": 1})           # shallow merge; UNDEFINED removes a field
    ctx.db.replace(new_id, {"body": "bye"})
    ctx.db.delete(new_id)

Every method also takes the table first (`ctx.db.get("messages", id)`), which checks that
the id belongs to it. `async def` functions get `AsyncDatabaseReader/Writer`, whose methods
are awaited.
"""

from __future__ import annotations

from typing import Any, overload

from bayou.errors import BadRequest
from bayou.runtimes.python.api.query import AsyncQuery, Document, Query
from bayou.runtimes.python.api.syscalls import SYSCALL_VERSION, CallInfo, Op, arun, run
from bayou.runtimes.python.api.values import to_convex
from bayou.values.ids import decode_id
from bayou.values.json import from_json, to_json

_MISSING: Any = object()


def _check_id(id: Any, method: str) -> str:
    if not isinstance(id, str):
        raise TypeError(
            f"Invalid argument `id` for `db.{method}`, expected string but got "
            f"'{type(id).__name__}': {id!r}"
        )
    return id


def _split(method: str, first: Any, second: Any) -> tuple[str | None, str]:
    """(table, id) of `method(id)` or `method(table, id)`."""
    if second is _MISSING:
        return None, _check_id(first, method)
    if not isinstance(first, str):
        raise TypeError(f"db.{method}(table, id): the table must be a string, not {first!r}")
    return first, _check_id(second, method)


def _get(table: str | None, id: str, system: bool) -> Op[Document | None]:
    args: dict[str, Any] = {"id": id, "isSystem": system, "version": SYSCALL_VERSION}
    if table is not None:
        args["table"] = table
    result = yield ("1.0/get", args)
    return None if result is None else from_json(result)  # type: ignore[return-value]


def _insert(table: str, value: Any) -> Op[str]:
    if not isinstance(table, str):
        raise TypeError(f"db.insert(table, value): the table must be a string, not {table!r}")
    if table.startswith("_"):
        raise ValueError("System tables (prefixed with `_`) are read-only.")
    document = to_convex(value, f"ctx.db.insert({table!r}, …)")
    if not isinstance(document, dict):
        raise TypeError(f"ctx.db.insert({table!r}, …) needs a dict, not {type(value).__name__}")
    result = yield ("1.0/insert", {"table": table, "value": to_json(document)})
    return str(result["_id"])


def _write(op: str, method: str, table: str | None, id: str, value: Any) -> Op[None]:
    where = f"ctx.db.{method}({id!r}, …)"
    converted = to_convex(value, where, undefined=(method == "patch"))
    if not isinstance(converted, dict):
        raise TypeError(f"{where} needs a dict, not {type(value).__name__}")
    args: dict[str, Any] = {"id": id, "value": to_json(converted)}
    if table is not None:
        args["table"] = table
    yield (op, args)
    return None


def _remove(table: str | None, id: str) -> Op[None]:
    args: dict[str, Any] = {"id": id}
    if table is not None:
        args["table"] = table
    yield ("1.0/remove", args)
    return None


def normalize_id(info: CallInfo, table: str, id: str, *, system: bool) -> str | None:
    """`id` when it is a valid id of `table` (answered in the worker, as Convex does)."""
    if not isinstance(table, str) or not isinstance(id, str):
        raise TypeError("normalize_id(table, id) takes two strings")
    if table.startswith("_") != system:
        kind = "System" if table.startswith("_") else "User"
        where = "" if system else "system."
        raise ValueError(f"{kind} tables can only be accessed from db.{where}normalize_id().")
    number = info.table_numbers.get(table)
    if number is None:
        return None
    try:
        found, _ = decode_id(id)
    except BadRequest:
        return None
    return id if found == number else None


def _check_access(table: str, system: bool, method: str) -> None:
    if not isinstance(table, str):
        raise TypeError(f"db.{method}() needs a table name, not {table!r}")
    if table.startswith("_") != system:
        kind = "System" if table.startswith("_") else "User"
        where = "" if system else "system."
        raise ValueError(f"{kind} tables can only be accessed from db.{where}{method}().")


def _scan(table: str) -> dict[str, Any]:
    return {"type": "FullTableScan", "tableName": table, "order": None}


class DatabaseReader:
    """`ctx.db` of a query: reads only."""

    __slots__ = ("_info", "_system", "system")

    def __init__(self, info: CallInfo, *, system: bool = False) -> None:
        self._info = info
        self._system = system
        self.system: DatabaseReader = self if system else DatabaseReader(info, system=True)
        """Reads of the system tables `_storage` and `_scheduled_functions`."""

    @overload
    def get(self, id: str, /) -> Document | None: ...
    @overload
    def get(self, table: str, id: str, /) -> Document | None: ...

    def get(self, first: str, second: str = _MISSING, /) -> Document | None:
        """The document with this id, or None."""
        table, id = _split("get", first, second)
        return run(self._info, _get(table, id, self._system))

    def query(self, table: str) -> Query:
        """A query over `table` (a full scan in `_creationTime` order until you pick an
        index)."""
        _check_access(table, self._system, "query")
        return Query(self._info, _scan(table))

    def normalize_id(self, table: str, id: str) -> str | None:
        """`id` if it is a valid id of a document of `table` (existing or not), else None."""
        return normalize_id(self._info, table, id, system=self._system)


class DatabaseWriter(DatabaseReader):
    """`ctx.db` of a mutation: reads and writes, in the mutation's transaction."""

    __slots__ = ()

    def insert(self, table: str, value: dict[str, Any]) -> str:
        """Insert a document; returns its new id."""
        return run(self._info, _insert(table, value))

    @overload
    def patch(self, id: str, value: dict[str, Any], /) -> None: ...
    @overload
    def patch(self, table: str, id: str, value: dict[str, Any], /) -> None: ...

    def patch(self, first: str, second: Any, third: Any = _MISSING, /) -> None:
        """Shallow-merge `value` into the document (a field set to `UNDEFINED` is removed)."""
        table, id, value = _split3("patch", first, second, third)
        run(self._info, _write("1.0/shallowMerge", "patch", table, id, value))

    @overload
    def replace(self, id: str, value: dict[str, Any], /) -> None: ...
    @overload
    def replace(self, table: str, id: str, value: dict[str, Any], /) -> None: ...

    def replace(self, first: str, second: Any, third: Any = _MISSING, /) -> None:
        """Replace the document's fields (keeping `_id` and `_creationTime`)."""
        table, id, value = _split3("replace", first, second, third)
        run(self._info, _write("1.0/replace", "replace", table, id, value))

    @overload
    def delete(self, id: str, /) -> None: ...
    @overload
    def delete(self, table: str, id: str, /) -> None: ...

    def delete(self, first: str, second: str = _MISSING, /) -> None:
        """Delete the document."""
        table, id = _split("delete", first, second)
        run(self._info, _remove(table, id))


def _split3(method: str, first: Any, second: Any, third: Any) -> tuple[str | None, str, Any]:
    if third is _MISSING:
        return None, _check_id(first, method), second
    table, id = _split(method, first, second)
    return table, id, third


class AsyncDatabaseReader:
    """`ctx.db` of an `async def` query: await its reads."""

    __slots__ = ("_info", "_system", "system")

    def __init__(self, info: CallInfo, *, system: bool = False) -> None:
        self._info = info
        self._system = system
        self.system: AsyncDatabaseReader = (
            self if system else AsyncDatabaseReader(info, system=True)
        )
        """Reads of the system tables `_storage` and `_scheduled_functions`."""

    @overload
    async def get(self, id: str, /) -> Document | None: ...
    @overload
    async def get(self, table: str, id: str, /) -> Document | None: ...

    async def get(self, first: str, second: str = _MISSING, /) -> Document | None:
        """The document with this id, or None."""
        table, id = _split("get", first, second)
        return await arun(self._info, _get(table, id, self._system))

    def query(self, table: str) -> AsyncQuery:
        """A query over `table`; await its terminals (`await q.collect()`)."""
        _check_access(table, self._system, "query")
        return AsyncQuery(self._info, _scan(table))

    def normalize_id(self, table: str, id: str) -> str | None:
        """`id` if it is a valid id of a document of `table` (existing or not), else None."""
        return normalize_id(self._info, table, id, system=self._system)


class AsyncDatabaseWriter(AsyncDatabaseReader):
    """`ctx.db` of an `async def` mutation: await its reads and writes."""

    __slots__ = ()

    async def insert(self, table: str, value: dict[str, Any]) -> str:
        """Insert a document; returns its new id."""
        return await arun(self._info, _insert(table, value))

    @overload
    async def patch(self, id: str, value: dict[str, Any], /) -> None: ...
    @overload
    async def patch(self, table: str, id: str, value: dict[str, Any], /) -> None: ...

    async def patch(self, first: str, second: Any, third: Any = _MISSING, /) -> None:
        """Shallow-merge `value` into the document (a field set to `UNDEFINED` is removed)."""
        table, id, value = _split3("patch", first, second, third)
        await arun(self._info, _write("1.0/shallowMerge", "patch", table, id, value))

    @overload
    async def replace(self, id: str, value: dict[str, Any], /) -> None: ...
    @overload
    async def replace(self, table: str, id: str, value: dict[str, Any], /) -> None: ...

    async def replace(self, first: str, second: Any, third: Any = _MISSING, /) -> None:
        """Replace the document's fields (keeping `_id` and `_creationTime`)."""
        table, id, value = _split3("replace", first, second, third)
        await arun(self._info, _write("1.0/replace", "replace", table, id, value))

    @overload
    async def delete(self, id: str, /) -> None: ...
    @overload
    async def delete(self, table: str, id: str, /) -> None: ...

    async def delete(self, first: str, second: str = _MISSING, /) -> None:
        """Delete the document."""
        table, id = _split("delete", first, second)
        await arun(self._info, _remove(table, id))
