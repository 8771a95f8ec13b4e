"""PostgreSQL persistence: the tables of `postgres_sql`, in one database per instance.

One writer connection runs every write as a single statement that checks the lease and
upserts all rows (one round trip, then the commit's fsync); a small pool of reader
connections serves reads, which therefore run concurrently with a write and see only
committed transactions.

Single writer, as on SQLite: a second server on the same database is refused at `open`,
with a message naming the one that holds it, unless that one is really gone. Two
mechanisms, each doing what it is good at:

- the writer connection holds a session-level advisory lock for as long as its process
  lives; PostgreSQL releases it when the session ends, however the process ended (stopped,
  killed, its machine gone once the server notices). `open` takes it or refuses. A holder
  on this host whose process no longer exists is waited for a few seconds (its session is
  closing), so a restart right after a crash works.
- a `leases` row names the writer, and every write transaction first locks it `FOR SHARE`
  and checks that it still names this process. The check travels inside the transaction
  it protects, so it holds across reconnects: if this process lost its session long enough
  for another server to start, its next write fails with `LeaseLost` before anything is
  written, and it stops.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg

from bayou.errors import BadRequest, BayouError, Conflict, InternalError
from bayou.persistence import postgres_sql as q
from bayou.persistence.base import DocumentRevision, IndexEntry, IndexHit, Order
from bayou.persistence.postgres_connection import (
    PostgresTarget,
    connect,
    connect_to,
    connection_error,
    error_summary,
    is_missing_database,
    parse_postgres_url,
)
from bayou.persistence.postgres_pool import ReaderPool

logger = logging.getLogger(__name__)

_TAKEOVER_WAIT = "30s"  # how long `open` waits for the previous writer's last transaction
_DYING_HOLDER_WAIT_S = 10.0  # how long `open` waits for the session of a dead local holder


class PostgresPersistence:
    """Persistence in the PostgreSQL database named after the instance (see the module doc).

    `url` names a server (`postgresql://user:password@host:5432`), never a database.
    `require_ssl` adds `sslmode=require` unless the URL sets `sslmode` itself.
    """

    local_reads = False

    def __init__(
        self,
        url: str,
        instance_name: str,
        *,
        require_ssl: bool = True,
        readers: int = 4,
        connect_timeout: float = 10.0,
    ) -> None:
        self._target: PostgresTarget = parse_postgres_url(
            url, instance_name, require_ssl=require_ssl, connect_timeout=connect_timeout
        )
        self.description = f"PostgreSQL database `{self.database}` at {self._target.address}"
        self._readers = readers
        self._pool: ReaderPool | None = None
        self._writer: psycopg.AsyncConnection | None = None
        self._write_lock = asyncio.Lock()
        self._token = os.urandom(16)
        self._lost_to: str | None = None  # who took the lease, once this process lost it

    @property
    def database(self) -> str:
        """The database name: the instance name with `-` replaced by `_`."""
        return self._target.database

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        if self._writer is not None:
            return
        writer = await connect(self._target)
        try:
            await self._create_schema(writer)
            await self._claim(writer)
            await self._take_lease(writer)
            await self._configure_writer(writer)
        except psycopg.errors.InsufficientPrivilege as exc:
            await writer.close()
            user, db = self._target.user, self.database
            raise InternalError(
                f"The role `{user}` may not create Bayou's tables in the database `{db}` on "
                f"{self._target.address} ({error_summary(exc)}). Ask an administrator to run: "
                f'ALTER DATABASE "{db}" OWNER TO "{user}"; (or GRANT CREATE ON SCHEMA public '
                f'TO "{user}";)',
                code="DatabaseUnavailable",
            ) from None
        except psycopg.OperationalError as exc:
            await writer.close()
            raise connection_error(self._target, exc) from None
        except BaseException:
            await writer.close()
            raise
        self._writer = writer
        self._lost_to = None
        self._pool = ReaderPool(self._connect_reader, self._readers)

    async def _create_schema(self, conn: psycopg.AsyncConnection) -> None:
        async with conn.transaction():
            await conn.execute(q.SCHEMA_LOCK)
            if await (await conn.execute(q.FOREIGN_LAYOUT)).fetchone():
                raise BadRequest(
                    f"The PostgreSQL database `{self.database}` on {self._target.address} holds "
                    "a Convex backend's tables, which Bayou cannot use in place. Export the "
                    "data with `npx convex export`, give Bayou another INSTANCE_NAME (a new "
                    "database), and load it with `npx convex import`.",
                    code="DatabaseInUse",
                )
            await conn.execute(q.SCHEMA, prepare=False)
            row = await (await conn.execute(q.SCHEMA_VERSION_GET)).fetchone()
            version = row[0] if row else None
            if version is None:
                await conn.execute(q.SCHEMA_VERSION_SET, (q.SCHEMA_VERSION,))
            elif version > q.SCHEMA_VERSION:
                raise InternalError(
                    f"The database `{self.database}` was written by a newer Bayou (schema "
                    f"{version}, this one knows {q.SCHEMA_VERSION}): upgrade Bayou.",
                    code="DatabaseInUse",
                )

    async def _claim(self, conn: psycopg.AsyncConnection) -> None:
        """Take the advisory lock that says a live server writes here, or refuse."""
        deadline = asyncio.get_running_loop().time() + _DYING_HOLDER_WAIT_S
        while True:
            row = await (await conn.execute(q.ALIVE_LOCK_TRY)).fetchone()
            if row and row[0]:
                return
            holder = await self._holder(conn)
            waiting = _is_dead_local_process(holder.info)
            if not waiting or asyncio.get_running_loop().time() > deadline:
                raise self._in_use_error(holder)
            await asyncio.sleep(0.1)

    async def _holder(self, conn: psycopg.AsyncConnection) -> _Holder:
        info = await (await conn.execute(q.LEASE_INFO)).fetchone()
        session = await (await conn.execute(q.ALIVE_LOCK_HOLDER)).fetchone()
        return _Holder(
            info=info[0] if info else None,
            since=info[1] if info else None,
            session_pid=session[0] if session else None,
        )

    def _in_use_error(self, holder: _Holder) -> BayouError:
        who = holder.info or "an unknown process"
        since = f", since {holder.since:%Y-%m-%d %H:%M:%S %Z}" if holder.since else ""
        gone = (
            " If that process is gone (e.g. its machine crashed), end its database session: "
            f"SELECT pg_terminate_backend({holder.session_pid});"
            if holder.session_pid
            else ""
        )
        return Conflict(
            f"Another Bayou process is using the PostgreSQL database `{self.database}` at "
            f"{self._target.address} ({who}{since}). Stop it first, or give this one its own "
            "database with another INSTANCE_NAME: two writers would refuse each other's "
            f"commits.{gone}",
            code="DatabaseInUse",
        )

    async def _take_lease(self, conn: psycopg.AsyncConnection) -> None:
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = '{_TAKEOVER_WAIT}'")
                previous = await (await conn.execute(q.LEASE_CURRENT)).fetchone()
                await conn.execute(q.LEASE_TAKE, (self._token, _holder_info()))
        except psycopg.errors.LockNotAvailable:
            raise Conflict(
                f"Another Bayou process keeps a write transaction open on `{self.database}` "
                f"at {self._target.address}; could not take over within {_TAKEOVER_WAIT}. "
                "Stop the other process and start this one again.",
                code="DatabaseInUse",
            ) from None
        if previous is not None:
            logger.info(
                "PostgreSQL database %s: the previous server (%s, since %s) did not stop "
                "cleanly; its session is gone, this server takes over.",
                self.database,
                previous[1],
                previous[2],
            )

    async def _configure_writer(self, conn: psycopg.AsyncConnection) -> None:
        # The commit contract is "durable when `write` returns", whatever the server default.
        await conn.execute("SET synchronous_commit = on")

    async def _connect_reader(self) -> psycopg.AsyncConnection:
        conn = await connect(self._target, create_database=False)
        await conn.execute("SET default_transaction_read_only = on")
        return conn

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
        async with self._write_lock:
            writer, self._writer = self._writer, None
            if writer is None:
                return
            if self._lost_to is None and not writer.broken:
                try:
                    await writer.execute(q.LEASE_RELEASE, (self._token,))
                except psycopg.Error:
                    pass  # the lease row is harmless: the next `open` takes it over
            await writer.close()

    # -- writes ----------------------------------------------------------------------------

    async def write(
        self,
        documents: Sequence[DocumentRevision],
        indexes: Sequence[IndexEntry],
        globals_: dict[str, Any] | None = None,
    ) -> None:
        # One row per primary key, the last one winning, as INSERT OR REPLACE does in SQLite
        # (ON CONFLICT DO UPDATE refuses to touch one row twice in a statement).
        docs = list({(d.table_id, d.id, d.ts): d for d in documents}.values())
        entries = [_index_row(e) for e in {(e.index_id, e.key, e.ts): e for e in indexes}.values()]
        glob = [(k, orjson.dumps(v)) for k, v in (globals_ or {}).items()]
        params = (
            self._token,
            [d.table_id for d in docs],
            [d.id for d in docs],
            [d.ts for d in docs],
            [d.value for d in docs],
            [d.prev_ts for d in docs],
            *_columns(entries, 7),
            *_columns(glob, 2),
        )
        await self._write_statement(q.WRITE, params)

    async def delete_index_entries(self, index_id: bytes) -> None:
        await self._write_statement(q.DELETE_INDEX, (self._token, index_id))

    async def _write_statement(self, statement: str, params: tuple) -> None:
        """Run one write statement (it checks the lease itself) on the writer connection."""
        async with self._write_lock:
            for attempt in (1, 2):
                conn = await self._writer_connection()
                try:
                    await conn.execute(statement, params)
                    return
                except psycopg.Error as exc:
                    if attempt == 1 and conn.broken:
                        # The connection died, maybe after the commit. Running the statement
                        # again is safe: identical rows rewrite idempotently and the lease is
                        # checked again.
                        continue
                    raise self._write_error(exc, conn) from None

    async def _writer_connection(self) -> psycopg.AsyncConnection:
        if self._lost_to is not None:
            raise self._lease_lost_error()
        conn = self._writer
        if conn is None:
            raise InternalError("PostgreSQL persistence is not open")
        if conn.broken or conn.closed:
            # The lease is a row, not a session: a new connection still holds it, unless
            # another server started while this process had no session.
            conn = await connect(self._target, create_database=False)
            row = await (await conn.execute(q.ALIVE_LOCK_TRY)).fetchone()
            if not (row and row[0]):
                holder = await self._holder(conn)
                await conn.close()
                self._lost_to = holder.info or "another process"
                raise self._lease_lost_error()
            await self._configure_writer(conn)
            self._writer = conn
        return conn

    def _write_error(self, exc: psycopg.Error, conn: psycopg.AsyncConnection) -> BaseException:
        if exc.sqlstate == q.LEASE_LOST_SQLSTATE:
            self._lost_to = (exc.diag.message_detail or "another process").strip()
            return self._lease_lost_error()
        if conn.broken:
            return InternalError(
                f"Lost the connection to PostgreSQL at {self._target.address} during a write, "
                f"twice ({error_summary(exc)}); the write may not have been saved. Check that the "
                "server is running; Bayou reconnects on the next write.",
                code="DatabaseUnavailable",
            )
        where = f"the PostgreSQL database `{self.database}` at {self._target.address}"
        if (exc.sqlstate or "").startswith("53"):  # insufficient resources: disk, memory
            return InternalError(
                f"Could not write to {where}: the database server is out of disk space or "
                f"memory ({error_summary(exc)}). Free space on it; nothing of this write was "
                "saved.",
                code="DatabaseWriteFailed",
            )
        return InternalError(
            f"Could not write to {where} ({error_summary(exc)}); nothing of this write was saved.",
            code="DatabaseWriteFailed",
        )

    def _lease_lost_error(self) -> BayouError:
        return Conflict(
            f"Another Bayou process ({self._lost_to}) took over the PostgreSQL database "
            f"`{self.database}` at {self._target.address}; this process may no longer write to "
            "it and must stop. Only one Bayou backend may serve a database at a time.",
            code="LeaseLost",
        )

    # -- reads -----------------------------------------------------------------------------

    async def _fetch(self, query: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple]:
        pool = self._pool
        if pool is None:
            raise InternalError("PostgreSQL persistence is not open")
        for attempt in (1, 2):
            conn = await pool.acquire()
            try:
                cur = conn.cursor(binary=True)
                await cur.execute(query, params)
                return await cur.fetchall()
            except psycopg.OperationalError as exc:
                if not conn.broken:
                    raise
                if attempt == 1:
                    continue  # reads are repeatable: try once more on a new connection
                raise InternalError(
                    f"Lost the connection to PostgreSQL at {self._target.address} during a "
                    f"read ({error_summary(exc)}). Check that the server is running; Bayou "
                    "reconnects on the next read.",
                    code="DatabaseUnavailable",
                ) from None
            finally:
                pool.release(conn)
        raise AssertionError("unreachable")

    async def max_ts(self) -> int:
        rows = await self._fetch(q.MAX_TS, ())
        return int(rows[0][0] or 0)

    async def get_document(self, table_id: bytes, id: bytes, ts: int) -> DocumentRevision | None:
        rows = await self._fetch(q.GET_DOCUMENT, (table_id, id, ts))
        if not rows:
            return None
        row_ts, value, prev_ts = rows[0]
        return DocumentRevision(table_id, id, row_ts, value, prev_ts)

    async def get_documents(
        self, keys: Sequence[tuple[bytes, bytes]], ts: int
    ) -> dict[tuple[bytes, bytes], DocumentRevision]:
        if not keys:
            return {}
        rows = await self._fetch(q.GET_DOCUMENTS, ([k[0] for k in keys], [k[1] for k in keys], ts))
        return {
            (table_id, id): DocumentRevision(table_id, id, row_ts, value, prev_ts)
            for table_id, id, row_ts, value, prev_ts in rows
        }

    async def index_scan(
        self,
        index_id: bytes,
        start: bytes,
        end: bytes | None,
        ts: int,
        order: Order,
        limit: int,
    ) -> list[IndexHit]:
        if (end is not None and end <= start) or limit <= 0:
            return []
        params = _range_params(index_id, start, end, ts, limit)
        rows = await self._fetch(q.INDEX_SCAN[order, end is not None], params)
        hits: list[IndexHit] = []
        for prefix, suffix, table_id, document_id, doc_ts, value, prev_ts in rows:
            if value is None:
                # An index entry always points at a live revision at or before its own ts.
                raise InternalError(f"Index entry without a live document (index {index_id.hex()})")
            key = prefix + suffix if suffix else prefix
            hits.append(
                IndexHit(key, DocumentRevision(table_id, document_id, doc_ts, value, prev_ts))
            )
        return hits

    async def index_keys(
        self,
        index_id: bytes,
        start: bytes,
        end: bytes | None,
        ts: int,
        limit: int,
        order: Order = "asc",
    ) -> list[tuple[bytes, bytes]]:
        if (end is not None and end <= start) or limit <= 0:
            return []
        params = _range_params(index_id, start, end, ts, limit)
        rows = await self._fetch(q.INDEX_KEYS[order, end is not None], params)
        return [(prefix + suffix if suffix else prefix, doc) for prefix, suffix, doc in rows]

    async def scan_table(
        self, table_id: bytes, ts: int, after: bytes | None, limit: int
    ) -> list[DocumentRevision]:
        if limit <= 0:
            return []
        rows = await self._fetch(
            q.SCAN_TABLE, {"table_id": table_id, "after": after or b"", "ts": ts, "limit": limit}
        )
        return [DocumentRevision(table_id, id, t, value, prev) for id, t, value, prev in rows]

    async def load_globals(self) -> dict[str, Any]:
        rows = await self._fetch(q.LOAD_GLOBALS, ())
        return {key: orjson.loads(value) for key, value in rows}


async def inspect_database(url: str, instance_name: str, *, require_ssl: bool = True) -> str:
    """What a check (`bayou doctor`) says of the instance's database, without changing
    anything: it creates no database, no table and takes no lock. Raises the connection's
    `BayouError` when the server cannot be reached."""
    target = parse_postgres_url(url, instance_name, require_ssl=require_ssl, connect_timeout=5)
    where = f"PostgreSQL database `{target.database}` at {target.address}"
    try:
        conn = await connect_to(target.conninfo())
    except psycopg.OperationalError as exc:
        if is_missing_database(exc):
            return f"{where}: not created yet (`bayou serve` creates it)"
        raise connection_error(target, exc) from None
    async with conn:
        await conn.execute("SET default_transaction_read_only = on")
        tables = await (await conn.execute("SELECT to_regclass('leases')")).fetchone()
        if not tables or tables[0] is None:
            return f"{where}: no Bayou tables yet (`bayou serve` creates them)"
        info = await (await conn.execute(q.LEASE_INFO)).fetchone()
        session = await (await conn.execute(q.ALIVE_LOCK_HOLDER)).fetchone()
        latest = await (await conn.execute(q.MAX_TS)).fetchone()
    state = "holds data" if latest and latest[0] else "empty"
    if session and info:
        return f"{where} ({state}; in use by {info[0]})"
    return f"{where} ({state}; no server is using it)"


@dataclass(frozen=True, slots=True)
class _Holder:
    """Who holds a database: the lease row's description and the lock's session."""

    info: str | None
    since: datetime | None
    session_pid: int | None


def _holder_info() -> str:
    """How the lease row names this process: `pid 1234 on host web-1`."""
    return f"pid {os.getpid()} on host {socket.gethostname()}"


def _is_dead_local_process(info: str | None) -> bool:
    """Whether a lease row names a process of this host that no longer exists."""
    match = re.fullmatch(r"pid (\d+) on host (.+)", info or "")
    if match is None or match[2] != socket.gethostname():
        return False
    try:
        os.kill(int(match[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, as another user
    return False


def _index_row(e: IndexEntry) -> tuple:
    """The `indexes` row of an entry: its key split into prefix, sha256 and suffix."""
    key = e.key
    if len(key) <= q.KEY_PREFIX_LEN:
        return (e.index_id, key, b"", b"", e.ts, e.table_id, e.document_id)
    prefix, suffix = key[: q.KEY_PREFIX_LEN], key[q.KEY_PREFIX_LEN :]
    return (
        e.index_id,
        prefix,
        hashlib.sha256(key).digest(),
        suffix,
        e.ts,
        e.table_id,
        e.document_id,
    )


def _columns(rows: list[tuple], width: int) -> list[list]:
    """Rows as one list per column, for `unnest(...)` inserts of any batch size."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


def _range_params(
    index_id: bytes, start: bytes, end: bytes | None, ts: int, limit: int
) -> dict[str, Any]:
    """The parameters of an index range query: keys split into their indexed prefix and
    the rest (postgres_sql.py), the snapshot and the limit."""
    n = q.KEY_PREFIX_LEN
    params: dict[str, Any] = {
        "index_id": index_id,
        "start_prefix": start[:n],
        "start_suffix": start[n:],
        "ts": ts,
        "limit": limit,
    }
    if end is not None:
        params["end_prefix"] = end[:n]
        params["end_suffix"] = end[n:]
    return params
