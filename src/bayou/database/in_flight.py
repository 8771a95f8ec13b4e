"""A batch the committer has validated and sequenced, while it is being made durable.

Under contention a hot document's admission lock used to pass to the next mutation only
once the previous holder's commit was durable, so every hot commit's write and fsync sat
on the critical path of the whole queue. Now the committer hands the lock on as soon as it
has validated the holder's commit and given it a timestamp (sequenced it), and the next
holder reads at that timestamp: documents the in-flight batch wrote come from here, the
rest from storage, where nothing newer than the batch's base exists yet.

Nothing reaches anyone before it is durable: the next holder's own commit is validated in
a later batch, which the committer only takes after this one is written, and a read-only
attempt settles (waits for the batch) before it returns. If the write fails, the batch is
marked failed and every transaction that read from it is rejected as a conflict (its retry
begins afresh). An index range that the batch changed (a document inserted, deleted or
moved within it), and every read path that does not know about the overlay, settle first.
"""

from __future__ import annotations

import asyncio

from bayou.database.document import Doc
from bayou.errors import OccError

Key = tuple[bytes, bytes]  # (table id, internal id)


class InFlight:
    """The documents and index moves of one sequenced, not yet durable batch."""

    __slots__ = ("_settled", "documents", "failed", "moved", "ts")

    def __init__(
        self,
        ts: int,
        documents: list[tuple[Key, int, Doc | None]],
        moved: list[tuple[bytes, bytes]],
    ) -> None:
        self.ts = ts  # the batch's last commit timestamp: the snapshot its readers take
        self.documents: dict[Key, Doc | None] = {key: doc for key, _, doc in documents}
        self.moved: dict[bytes, list[bytes]] = {}
        for index_id, key in moved:
            self.moved.setdefault(index_id, []).append(key)
        self.failed = False
        self._settled = asyncio.Event()

    @property
    def done(self) -> bool:
        return self._settled.is_set()

    def finish(self, *, ok: bool) -> None:
        """Called by the committer once the batch is durable and published (or failed)."""
        self.failed = not ok
        self._settled.set()

    def lookup(self, key: Key) -> tuple[bool, Doc | None]:
        """(True, doc or None) when the batch wrote the document."""
        if self.failed:
            raise self.conflict()  # the snapshot never existed: nothing more is read at it
        if key in self.documents:
            return True, self.documents[key]
        return False, None

    def moves_within(self, index_id: bytes, start: bytes, end: bytes | None) -> bool:
        """Whether the batch added or removed a key of the index in [start, end)."""
        keys = self.moved.get(index_id)
        if not keys:
            return False
        return any(start <= key and (end is None or key < end) for key in keys)

    async def settle(self) -> None:
        """Wait until the batch is durable; a failed batch voids its readers' attempt."""
        await self._settled.wait()
        if self.failed:
            raise self.conflict()

    def conflict(self) -> OccError:
        return OccError(
            "The commit this transaction read from could not be written. Retry it.",
            conflict_ts=None,
        )
