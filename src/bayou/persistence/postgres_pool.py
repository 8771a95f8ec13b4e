"""A small fixed-size pool of PostgreSQL reader connections.

Bayou's reads are short single statements, so a handful of connections serves them all.
The pool holds `size` slots; an empty slot (None) is filled by connecting on first use,
and a connection that broke is dropped and its slot emptied, so a server restart costs
the reads that were in flight and nothing else. This is all psycopg_pool would do for us
here, without a dependency, background tasks or per-checkout health checks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import psycopg

from bayou.errors import InternalError


class ReaderPool:
    """`size` reader connections made by `connect`, handed out one caller at a time."""

    def __init__(
        self, connect: Callable[[], Awaitable[psycopg.AsyncConnection]], size: int
    ) -> None:
        if size < 1:
            raise ValueError("a reader pool needs at least one connection")
        self._connect = connect
        self._size = size
        self._slots: asyncio.Queue[psycopg.AsyncConnection | None] = asyncio.Queue()
        for _ in range(size):
            self._slots.put_nowait(None)
        self._open: set[psycopg.AsyncConnection] = set()
        self._closed = False

    async def acquire(self) -> psycopg.AsyncConnection:
        """A connection for one statement; hand it back with `release`."""
        if self._closed:
            raise InternalError("PostgreSQL persistence is not open")
        try:
            conn = self._slots.get_nowait()
        except asyncio.QueueEmpty:
            conn = await self._slots.get()
        if self._closed:
            raise InternalError("PostgreSQL persistence is not open")
        if conn is not None:
            return conn
        try:
            conn = await self._connect()
        except BaseException:
            self._slots.put_nowait(None)
            raise
        self._open.add(conn)
        return conn

    def release(self, conn: psycopg.AsyncConnection) -> None:
        """Return `conn`; a broken one is closed and its slot reconnects on next use."""
        if self._closed:
            return
        if conn.broken or conn.closed:
            self._open.discard(conn)
            self._slots.put_nowait(None)
        else:
            self._slots.put_nowait(conn)

    async def close(self) -> None:
        """Close every connection, including ones still handed out. Idempotent."""
        self._closed = True
        for _ in range(self._size):
            self._slots.put_nowait(None)  # wakes callers waiting for a slot: they fail
        conns, self._open = self._open, set()
        for conn in conns:
            await conn.close()
