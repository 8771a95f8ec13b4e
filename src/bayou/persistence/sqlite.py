"""SQLite persistence: the embedded default, one file in the data directory (WAL mode).

Reads run inline on the event loop's thread through a reader connection: they are point
or short range lookups that SQLite answers from its page cache in microseconds, cheaper
than a thread hop. Writes run on a dedicated writer thread so that an fsync never stalls
the loop. WAL lets the reader see the last committed state while a write is under way.

Only one process may write a database file: an exclusive `flock` on `<file>.lock` is the
single-writer lease, taken at `open` and held until `close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import sqlite3
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from bayou.errors import Conflict, InternalError
from bayou.persistence.base import DocumentRevision, IndexEntry, IndexHit, Order
from bayou.persistence.sqlite_checkpoint import WalCheckpointer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    table_id BLOB NOT NULL,
    id BLOB NOT NULL,
    ts INTEGER NOT NULL,
    json_value BLOB,
    prev_ts INTEGER,
    PRIMARY KEY (table_id, id, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS indexes (
    index_id BLOB NOT NULL,
    key BLOB NOT NULL,
    ts INTEGER NOT NULL,
    table_id BLOB NOT NULL,
    document_id BLOB,
    PRIMARY KEY (index_id, key, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS persistence_globals (
    key TEXT PRIMARY KEY,
    json_value TEXT NOT NULL
);
"""

# The newest entry per key at the snapshot; tombstones (NULL document_id) are dropped
# after picking the newest, never before. SQLite's bare-column rule makes `document_id`
# and `table_id` come from the row holding MAX(ts).
_SCAN_ASC = """
SELECT key, MAX(ts), table_id, document_id FROM indexes
WHERE index_id = ? AND key >= ? AND key < ? AND ts <= ?
GROUP BY key HAVING document_id IS NOT NULL ORDER BY key ASC LIMIT ?
"""
_SCAN_DESC = _SCAN_ASC.replace("ORDER BY key ASC", "ORDER BY key DESC")
_SCAN_ASC_OPEN = _SCAN_ASC.replace("AND key < ?", "")
_SCAN_DESC_OPEN = _SCAN_DESC.replace("AND key < ?", "")

_GET_DOC = """
SELECT ts, json_value, prev_ts FROM documents
WHERE table_id = ? AND id = ? AND ts <= ? ORDER BY ts DESC LIMIT 1
"""

_SCAN_TABLE = """
SELECT id, MAX(ts), json_value, prev_ts FROM documents
WHERE table_id = ? AND id > ? AND ts <= ?
GROUP BY id HAVING json_value IS NOT NULL ORDER BY id LIMIT ?
"""


class SqlitePersistence:
    """Persistence in one SQLite file; see the module docstring for the threading model."""

    local_reads = True

    def __init__(self, path: Path | str, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.description = f"SQLite at {self.path}"
        # FULL fsyncs the WAL on every commit: an acknowledged commit survives power loss.
        self._synchronous = synchronous
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._checkpointer: WalCheckpointer | None = None
        self._lock_file: int | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._take_lease()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bayou-sqlite-writer")
        loop = asyncio.get_running_loop()
        self._writer = await loop.run_in_executor(self._executor, self._connect_writer)
        self._reader = self._connect(readonly=True)
        self._checkpointer = WalCheckpointer(lambda: self._connect(readonly=False))
        self._checkpointer.start()

    def _take_lease(self) -> None:
        fd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 256).decode(errors="replace").strip() or "an unknown process"
            os.close(fd)
            raise Conflict(
                f"Another Bayou process is using {self.path} ({holder}). Stop it first, or "
                "give this one its own --data-dir: two writers would corrupt each other's "
                "commits.",
                code="DatabaseInUse",
            ) from None
        # Name the holder in the lock file, for the message a second server gets.
        started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        os.ftruncate(fd, 0)
        os.pwrite(
            fd, f"pid {os.getpid()} on host {socket.gethostname()}, since {started}\n".encode(), 0
        )
        self._lock_file = fd

    def _connect(self, *, readonly: bool) -> sqlite3.Connection:
        conn = sqlite3.connect(
            str(self.path),
            isolation_level=None,
            check_same_thread=False,
            cached_statements=64,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        if readonly:
            conn.execute("PRAGMA query_only=ON")
        return conn

    def _connect_writer(self) -> sqlite3.Connection:
        conn = self._connect(readonly=False)
        conn.executescript(_SCHEMA)
        conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's job: see its module
        return conn

    async def close(self) -> None:
        if self._checkpointer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._checkpointer.stop)
            self._checkpointer = None
        if self._executor is not None:
            writer = self._writer
            if writer is not None:
                await asyncio.get_running_loop().run_in_executor(self._executor, writer.close)
            self._executor.shutdown(wait=True)
            self._executor = None
            self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._lock_file is not None:
            os.close(self._lock_file)  # releases the flock
            self._lock_file = None

    @property
    def _r(self) -> sqlite3.Connection:
        if self._reader is None:
            raise InternalError("SQLite persistence is not open")
        return self._reader

    async def max_ts(self) -> int:
        # Kept as a global by every write: MAX(ts) over documents would scan the whole
        # table, whose primary key starts with table_id.
        row = self._r.execute(
            "SELECT json_value FROM persistence_globals WHERE key = '_max_ts'"
        ).fetchone()
        if row is not None:
            return int(orjson.loads(row[0]))
        row = self._r.execute("SELECT MAX(ts) FROM documents").fetchone()
        return int(row[0] or 0)

    async def write(
        self,
        documents: Sequence[DocumentRevision],
        indexes: Sequence[IndexEntry],
        globals_: dict[str, Any] | None = None,
    ) -> None:
        if self._executor is None:
            raise InternalError("SQLite persistence is not open")
        doc_rows = [(d.table_id, d.id, d.ts, d.value, d.prev_ts) for d in documents]
        index_rows = [(e.index_id, e.key, e.ts, e.table_id, e.document_id) for e in indexes]
        global_rows = [(k, orjson.dumps(v).decode()) for k, v in (globals_ or {}).items()]
        await asyncio.get_running_loop().run_in_executor(
            self._executor, self._write_sync, doc_rows, index_rows, global_rows
        )

    def _write_sync(self, doc_rows: list, index_rows: list, global_rows: list) -> None:
        conn = self._writer
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            if doc_rows:
                conn.executemany(
                    "INSERT OR REPLACE INTO documents (table_id, id, ts, json_value, prev_ts)"
                    " VALUES (?, ?, ?, ?, ?)",
                    doc_rows,
                )
            if index_rows:
                conn.executemany(
                    "INSERT OR REPLACE INTO indexes (index_id, key, ts, table_id, document_id)"
                    " VALUES (?, ?, ?, ?, ?)",
                    index_rows,
                )
            if doc_rows:
                global_rows = [*global_rows, ("_max_ts", str(max(r[2] for r in doc_rows)))]
            if global_rows:
                conn.executemany(
                    "INSERT INTO persistence_globals (key, json_value) VALUES (?, ?) ON CONFLICT (key)"
                    " DO UPDATE SET json_value = excluded.json_value"
                    + (
                        " WHERE key != '_max_ts' OR CAST(excluded.json_value AS INTEGER) > CAST(json_value AS INTEGER)"
                    ),
                    global_rows,
                )
            conn.execute("COMMIT")
        except BaseException as exc:
            # SQLite rolls back by itself after some failures (a full disk during COMMIT):
            # rolling back again would replace the real error with "no transaction is active".
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._write_error(exc) from exc
            raise
        if self._checkpointer is not None:
            self._checkpointer.after_commit(conn, len(doc_rows) + len(index_rows))

    def _write_error(self, exc: sqlite3.Error) -> InternalError:
        """What a failed write tells the caller (the client and the server log)."""
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # the primary code
        if code == sqlite3.SQLITE_FULL:
            return InternalError(
                f"Could not write to the database {self.path}: the disk is full ({exc}). Free "
                f"space on the file system of {self.path.parent}; nothing of this commit was "
                "saved.",
                code="DatabaseWriteFailed",
            )
        if code == sqlite3.SQLITE_READONLY:
            return InternalError(
                f"Could not write to the database {self.path}: it is read-only ({exc}). Make "
                f"{self.path.parent} writable; nothing of this commit was saved.",
                code="DatabaseWriteFailed",
            )
        return InternalError(
            f"Could not write to the database {self.path} ({exc}); nothing of this commit was "
            "saved.",
            code="DatabaseWriteFailed",
        )

    async def get_document(self, table_id: bytes, id: bytes, ts: int) -> DocumentRevision | None:
        row = self._r.execute(_GET_DOC, (table_id, id, ts)).fetchone()
        if row is None:
            return None
        return DocumentRevision(table_id, id, row[0], row[1], row[2])

    async def get_documents(
        self, keys: Sequence[tuple[bytes, bytes]], ts: int
    ) -> dict[tuple[bytes, bytes], DocumentRevision]:
        out: dict[tuple[bytes, bytes], DocumentRevision] = {}
        execute = self._r.execute
        for table_id, id in keys:
            row = execute(_GET_DOC, (table_id, id, ts)).fetchone()
            if row is not None:
                out[(table_id, id)] = DocumentRevision(table_id, id, row[0], row[1], row[2])
        return out

    async def index_scan(
        self,
        index_id: bytes,
        start: bytes,
        end: bytes | None,
        ts: int,
        order: Order,
        limit: int,
    ) -> list[IndexHit]:
        if end is None:
            sql = _SCAN_ASC_OPEN if order == "asc" else _SCAN_DESC_OPEN
            params: tuple = (index_id, start, ts, limit)
        else:
            if end <= start:
                return []
            sql = _SCAN_ASC if order == "asc" else _SCAN_DESC
            params = (index_id, start, end, ts, limit)
        conn = self._r
        entries = conn.execute(sql, params).fetchall()
        hits: list[IndexHit] = []
        for key, _entry_ts, table_id, document_id in entries:
            row = conn.execute(_GET_DOC, (table_id, document_id, ts)).fetchone()
            if row is None or row[1] is None:
                # An index entry always points at a live revision at or before its own ts.
                raise InternalError(f"Index entry without a live document (index {index_id.hex()})")
            hits.append(
                IndexHit(key, DocumentRevision(table_id, document_id, row[0], row[1], row[2]))
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
        if end is None:
            sql = _SCAN_ASC_OPEN if order == "asc" else _SCAN_DESC_OPEN
            params: tuple = (index_id, start, ts, limit)
        elif end <= start:
            return []
        else:
            sql = _SCAN_ASC if order == "asc" else _SCAN_DESC
            params = (index_id, start, end, ts, limit)
        return [(key, doc) for key, _ts, _table, doc in self._r.execute(sql, params).fetchall()]

    async def scan_table(
        self, table_id: bytes, ts: int, after: bytes | None, limit: int
    ) -> list[DocumentRevision]:
        rows = self._r.execute(_SCAN_TABLE, (table_id, after or b"", ts, limit)).fetchall()
        return [DocumentRevision(table_id, id, t, value, prev) for id, t, value, prev in rows]

    async def load_globals(self) -> dict[str, Any]:
        rows = self._r.execute(
            "SELECT key, json_value FROM persistence_globals WHERE key != '_max_ts'"
        ).fetchall()
        return {k: orjson.loads(v) for k, v in rows}

    async def delete_index_entries(self, index_id: bytes) -> None:
        if self._executor is None:
            raise InternalError("SQLite persistence is not open")

        def delete() -> None:
            assert self._writer is not None
            self._writer.execute("DELETE FROM indexes WHERE index_id = ?", (index_id,))

        await asyncio.get_running_loop().run_in_executor(self._executor, delete)
