"""WAL checkpoints off the commit path.

SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages of WAL: that
commit copies the WAL into the database file and fsyncs it before it returns, and every
commit queued behind it on the writer thread waits too (under the keynote load, taking the
checkpoints off that thread raised transfers per second by 14–35 %). Here the writer
connection never checkpoints by itself.
After enough writes it wakes a checkpointer thread with a connection of its own, whose
PASSIVE checkpoint copies what no reader still needs while the writer goes on committing.

A WAL only starts over from its beginning when a checkpoint has copied all of it before
the next write begins. Under a write load that never pauses the background checkpoints
keep copying but the WAL keeps growing; past `INLINE_PAGES` the writer runs one
checkpoint itself between two commits (little is left to copy by then), as SQLite would.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger("bayou.persistence")

BACKGROUND_PAGES = 1000  # SQLite's own autocheckpoint threshold (about 4 MB of WAL)
INLINE_PAGES = 16_000  # about 64 MB: the WAL grows no further


class WalCheckpointer:
    """A thread that checkpoints the WAL when the writer says enough was written."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._wake = threading.Event()
        self._stopping = False
        self._written = 0  # pages written since the last wake (an estimate)
        self._inline_wanted = False
        self.checkpoints = 0  # by the thread
        self.inline_checkpoints = 0  # by the writer, when the WAL grew past INLINE_PAGES
        self._thread = threading.Thread(
            target=self._run, name="bayou-sqlite-checkpointer", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def after_commit(self, writer: sqlite3.Connection, rows: int) -> None:
        """On the writer thread, after a commit of `rows` rows (each dirties about a page)."""
        if self._inline_wanted:
            self._inline_wanted = False
            _checkpoint(writer)
            self.inline_checkpoints += 1
            return
        self._written += rows + 1
        if self._written >= BACKGROUND_PAGES:
            self._written = 0
            if self._thread.is_alive():
                self._wake.set()
            else:  # it could not open its connection: checkpoint as SQLite itself would
                _checkpoint(writer)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            conn = self._connect()
        except sqlite3.Error as e:
            log.warning("the WAL checkpointer could not open the database: %s", e)
            return
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                frames = _checkpoint(conn)
                self.checkpoints += 1
                if frames >= INLINE_PAGES:
                    self._inline_wanted = True
        finally:
            conn.close()


def _checkpoint(conn: sqlite3.Connection) -> int:
    """A PASSIVE checkpoint; the WAL's length in frames (0 if it could not say)."""
    try:
        row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    except sqlite3.Error as e:  # the next write's checkpoint tries again
        log.warning("a WAL checkpoint failed: %s", e)
        return 0
    return int(row[1]) if row is not None and row[1] is not None else 0
