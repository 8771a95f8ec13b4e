"""Syscalls of queries and mutations: the database through one transaction.

Names and JSON shapes are Convex's (js-compat.md §2.1); the same handler serves the
JavaScript and the Python runtime. Documents go back as their stored JSON text
(`orjson.Fragment`), so reading a document costs no re-encoding.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from bayou.database.contention import RestartTransaction
from bayou.database.pagination import PaginationOptions, paginate
from bayou.database.query_stream import QueryStream
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest
from bayou.model.scheduled_functions import MAX_SCHEDULED_ARGS_BYTES, MAX_SCHEDULED_PER_TRANSACTION
from bayou.model.system_tables import USER_READABLE_SYSTEM_TABLES
from bayou.runner import scheduling, storage_syscalls
from bayou.values import UNDEFINED
from bayou.values import json as vjson
from bayou.values.model import contains_commit_ts

if TYPE_CHECKING:
    from bayou.runner.function_runner import CallContext

Handler = Callable[["TransactionSyscalls", Any], Awaitable[Any]]
MAX_BATCH = 1024
# Read ahead (see `answer_ahead`): the reads it may replay, the notices that leave a run of
# reads unbroken, and how many reads it replays at most.
READ_AHEAD_OPS = frozenset({"1.0/get", "bayou/queryStreamBatch", "1.0/queryStreamNext"})
READ_AHEAD_NEUTRAL = frozenset({"1.0/queryCleanup"})
MAX_READ_AHEAD = 32


class TransactionSyscalls:
    """One invocation's view of the database; `async_syscall` is the runtime's entry."""

    def __init__(self, ctx: CallContext, tx: Transaction) -> None:
        self.ctx = ctx
        self.tx = tx
        self.streams: dict[Any, QueryStream] = {}
        self.paginated = False
        self.journal_out: str | None = None
        # The reads this invocation made before anything else, in order: what a re-run of
        # the same mutation may be answered ahead with (`answer_ahead`).
        self.leading_reads: list[tuple[str, Any]] = []
        self._leading = True  # no other syscall came yet
        self.offered_ahead = 0  # reads answered ahead (the first of `leading_reads`)
        self.used_ahead: int | None = None  # how many the function used, once known

    async def async_syscall(self, op: str, args: Any) -> Any:
        if self._leading and op not in READ_AHEAD_NEUTRAL:
            if op in READ_AHEAD_OPS and len(self.leading_reads) < MAX_READ_AHEAD:
                self.leading_reads.append((op, args))
            else:
                self._leading = False
        handler = _OPS.get(op)
        if handler is None:
            return await self.ctx.runner.shared_syscall(self.ctx, op, args)
        if not isinstance(args, dict):
            raise BadRequest(f"Syscall {op} needs an object of arguments", code="InvalidSyscall")
        return await handler(self, args)

    async def answer_ahead(self, reads: list[tuple[str, Any]]) -> list[list[Any]]:
        """Run `reads` now, at this attempt's snapshot, and return `[op, args, result]` for
        each one that succeeded, in order (`runner/read_ahead.py` picks them: what the
        arguments predict, or the reads a previous attempt made).

        The runtime hands these answers to the function when it asks exactly these
        syscalls, in this order, before any other, and saves a round trip to the worker
        each (a hot document's lock is held across those round trips). Answers are right
        only for such a prefix: before the function's first write, the reads see what they
        would see then. A read the function does not make stays in the read set, which can
        only add conflicts. A restart (a hot document this attempt does not hold)
        propagates: the attempt restarts before the function runs."""
        answered: list[list[Any]] = []
        for op, args in reads:
            try:
                value = await self.async_syscall(op, args)
            except RestartTransaction:
                raise
            except Exception:
                # The function meets this read itself, in a fresh stream (see `_stream`).
                break
            answered.append([op, args, value])
            self.offered_ahead += 1
        return answered

    def reads_made(self) -> list[tuple[str, Any]]:
        """`leading_reads` without those answered ahead that the function did not use."""
        used, offered = self.used_ahead, self.offered_ahead
        if used is not None and used < offered:
            return self.leading_reads[:used] + self.leading_reads[offered:]
        return self.leading_reads

    # -- reads ---------------------------------------------------------------------

    async def get(self, args: dict) -> Any:
        id = _string(args, "id")
        table = args.get("table")
        system = bool(args.get("isSystem"))
        info = self.tx.table_of_id(id)
        if info is not None:
            if info.is_system != system:
                raise BadRequest(
                    "User tables cannot be accessed with db.system."
                    if system
                    else "System tables can only be accessed with db.system.",
                    code="SystemTableError",
                )
            if system and info.name not in USER_READABLE_SYSTEM_TABLES:
                return None  # Bayou's own tables do not exist for user code
        elif table is not None and isinstance(table, str) and table.startswith("_"):
            _check_readable_system_table(table)
        doc = await self.tx.get_document(id, table=table, system=system)
        return None if doc is None else orjson.Fragment(doc.json)

    def _stream(self, args: dict) -> QueryStream:
        query_id = args.get("queryId")
        query = args.get("query")
        # A runtime sends the query with the first batch it asks for only: a query that
        # comes again replaces a stream read ahead (`answer_ahead`) that it did not use.
        stream = self.streams.get(query_id) if query is None else None
        if stream is None:
            if query is None:
                raise BadRequest(f"Unknown query id {query_id!r}", code="InvalidSyscall")
            # The npm package checks db.query vs db.system.query itself and sends no flag:
            # a system table's name says it all (as on Convex).
            table = _query_table(query)
            system = table is not None and table.startswith("_")
            if system:
                _check_readable_system_table(table)  # type: ignore[arg-type]
            stream = self.tx.query(query, system=system)
            self.streams[query_id] = stream
        return stream

    async def query_stream_next(self, args: dict) -> Any:
        stream = self._stream(args)
        item = await stream.next_with_key()
        if item is None:
            return {"value": None, "done": True}
        return {"value": orjson.Fragment(item[1].json), "done": False}

    async def query_stream_batch(self, args: dict) -> Any:
        """Bayou's batched form of queryStreamNext: up to `max` documents per round trip."""
        stream = self._stream(args)
        limit = min(int(args.get("max") or 100), MAX_BATCH)
        values = []
        while len(values) < limit:
            item = await stream.next_with_key()
            if item is None:
                return {"values": values, "done": True}
            values.append(orjson.Fragment(item[1].json))
        return {"values": values, "done": stream.done}

    async def query_cleanup(self, args: dict) -> Any:
        stream = self.streams.pop(args.get("queryId"), None)
        if stream is not None:
            stream.record_reads()
        return True

    async def query_page(self, args: dict) -> Any:
        if self.paginated:
            raise BadRequest(
                "This function already paginated one query: a function may call .paginate() "
                "only once.",
                code="MultiplePaginatedDatabaseQueries",
            )
        self.paginated = True
        end_cursor = args.get("endCursor")
        if end_cursor is None and self.ctx.journal is not None:
            # A subscription re-runs a page up to where it ended before (reference §3.6).
            end_cursor = self.ctx.journal
        opts = PaginationOptions.from_json(
            {
                "numItems": args.get("pageSize"),
                "cursor": args.get("cursor"),
                "endCursor": end_cursor,
                "maximumRowsRead": args.get("maximumRowsRead"),
                "maximumBytesRead": args.get("maximumBytesRead"),
            }
        )
        query = args.get("query")
        table = _query_table(query)
        system = table is not None and table.startswith("_")
        if system:
            _check_readable_system_table(table)  # type: ignore[arg-type]
        result = await paginate(self.tx, query, opts, system=system)
        self.journal_out = result["continueCursor"]
        return {
            "page": [vjson.to_json(d) for d in result["page"]],
            "isDone": result["isDone"],
            "continueCursor": result["continueCursor"],
            "splitCursor": result.get("splitCursor"),
            "pageStatus": result.get("pageStatus"),
        }

    async def count(self, args: dict) -> Any:
        table = _string(args, "table")
        return float(len(await self.tx.query(_scan(table)).collect()))

    # -- writes --------------------------------------------------------------------

    def _written(self, args: dict, *, undefined: bool = False) -> Any:
        """The value a write syscall carries; `db.vars.commitTs` allowed in mutations."""
        value = vjson.from_json(args.get("value"), undefined=undefined, commit_ts=True)
        if contains_commit_ts(value):
            self.tx.writes_commit_ts = True
        return value

    async def insert(self, args: dict) -> Any:
        value = self._written(args)
        if not isinstance(value, dict):
            raise BadRequest("insert() needs an object", code="InvalidDocument")
        return {"_id": await self.tx.insert(_string(args, "table"), value)}

    async def shallow_merge(self, args: dict) -> Any:
        id = await self._patch(args)
        return await self.get({"id": id, "table": args.get("table")})

    async def _patch(self, args: dict) -> str:
        fields = self._written(args, undefined=True)
        if not isinstance(fields, dict):
            raise BadRequest("patch() needs an object of fields", code="InvalidDocument")
        id = _string(args, "id")
        await self.tx.patch(id, fields, table=args.get("table"))
        return id

    async def replace(self, args: dict) -> Any:
        id = await self._replace(args)
        return await self.get({"id": id, "table": args.get("table")})

    async def _replace(self, args: dict) -> str:
        value = self._written(args, undefined=True)
        if not isinstance(value, dict):
            raise BadRequest("replace() needs an object", code="InvalidDocument")
        value = {k: v for k, v in value.items() if v is not UNDEFINED}
        id = _string(args, "id")
        await self.tx.replace(id, value, table=args.get("table"))
        return id

    async def deferred_write(self, op: str, args: Any) -> None:
        """A write the worker resolved without waiting (a deferred write): nobody reads its
        result, so the written document is not read back and encoded for it."""
        self._leading = False
        if op == "1.0/shallowMerge" and isinstance(args, dict):
            await self._patch(args)
        elif op == "1.0/replace" and isinstance(args, dict):
            await self._replace(args)
        elif op == "1.0/remove" and isinstance(args, dict):
            await self.tx.delete(_string(args, "id"), table=args.get("table"))
        else:
            await self.async_syscall(op, args)

    async def remove(self, args: dict) -> Any:
        id = _string(args, "id")
        doc = await self.tx.get_document(id, table=args.get("table"))
        await self.tx.delete(id, table=args.get("table"))
        return None if doc is None else orjson.Fragment(doc.json)

    # -- nested functions and metadata -----------------------------------------------

    async def run_udf(self, args: dict) -> Any:
        kind = args.get("udfType")
        if kind not in ("query", "mutation", "snapshotQuery"):
            raise BadRequest(
                f"ctx.runQuery/runMutation: unknown udfType {kind!r}", code="InvalidSyscall"
            )
        if kind == "mutation" and self.tx.read_only:
            raise BadRequest("A query cannot call ctx.runMutation", code="InvalidSyscall")
        return await self.ctx.runner.run_nested(self.ctx, self.tx, kind, args)

    async def schedule(self, args: dict) -> Any:
        self._check_may_schedule()
        return await scheduling.schedule(self.ctx, self.tx, args)

    async def cancel_job(self, args: dict) -> Any:
        self._check_may_schedule()
        await scheduling.cancel(self.ctx, self.tx, args)
        return None

    def _check_may_schedule(self) -> None:
        if self.tx.read_only:
            raise BadRequest(
                "Queries cannot schedule functions: use a mutation or an action",
                code="InvalidSyscall",
            )

    async def transaction_metrics(self, args: dict) -> Any:
        tx, limits = self.tx, self.tx.limits

        def metric(used: int, limit: int) -> dict[str, float]:
            return {"used": float(used), "remaining": float(max(limit - used, 0))}

        return {
            "bytesRead": metric(tx.reads.bytes_read, limits.bytes_read),
            "bytesWritten": metric(tx.bytes_written, limits.bytes_written),
            "databaseQueries": metric(tx.index_ranges, limits.index_ranges),
            "documentsRead": metric(tx.reads.documents_read, limits.documents_read),
            "documentsWritten": metric(tx.documents_written, limits.documents_written),
            "functionsScheduled": metric(tx.functions_scheduled, MAX_SCHEDULED_PER_TRANSACTION),
            "scheduledFunctionArgsBytes": metric(tx.scheduled_args_bytes, MAX_SCHEDULED_ARGS_BYTES),
        }


def _string(args: dict, name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"Expected `{name}` to be a string", code="InvalidSyscall")
    return value


def _check_readable_system_table(table: str) -> None:
    if table not in USER_READABLE_SYSTEM_TABLES:
        raise BadRequest(
            f"System table '{table}' cannot be read by functions: ctx.db.system reads "
            f"{' and '.join(sorted(USER_READABLE_SYSTEM_TABLES))}.",
            code="SystemTableError",
        )


def _query_table(query: Any) -> str | None:
    """The table a serialized query reads (`tableName`, or the table of `indexName`)."""
    source = query.get("source") if isinstance(query, dict) else None
    if not isinstance(source, dict):
        return None
    table = source.get("tableName")
    if isinstance(table, str):
        return table
    index = source.get("indexName")
    return index.split(".", 1)[0] if isinstance(index, str) else None


def _scan(table: str) -> dict[str, Any]:
    return {
        "source": {"type": "FullTableScan", "tableName": table, "order": "asc"},
        "operators": [],
    }


_OPS: dict[str, Handler] = {
    "1.0/get": TransactionSyscalls.get,
    "1.0/queryStreamNext": TransactionSyscalls.query_stream_next,
    "bayou/queryStreamBatch": TransactionSyscalls.query_stream_batch,
    "1.0/queryCleanup": TransactionSyscalls.query_cleanup,
    "1.0/queryPage": TransactionSyscalls.query_page,
    "1.0/count": TransactionSyscalls.count,
    "1.0/insert": TransactionSyscalls.insert,
    "1.0/shallowMerge": TransactionSyscalls.shallow_merge,
    "1.0/replace": TransactionSyscalls.replace,
    "1.0/remove": TransactionSyscalls.remove,
    "1.0/runUdf": TransactionSyscalls.run_udf,
    "1.0/getTransactionMetrics": TransactionSyscalls.transaction_metrics,
    "1.0/schedule": TransactionSyscalls.schedule,
    "1.0/cancel_job": TransactionSyscalls.cancel_job,
    **storage_syscalls.TRANSACTION_OPS,
}
