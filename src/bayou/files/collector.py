"""The blob collector: deletes the blobs `_blob_gc` says are garbage, when they are.

- A deleted file's blob goes as soon as the deleting transaction has committed: the commit
  that writes its `_blob_gc` record wakes this loop (and a stop in between only delays it
  to the next start).
- An upload that never got its `_storage` row (the client went away, the server was
  killed, the digest did not match and the clean-up failed) is collected once its record
  is due — the upload URL's expiry plus a grace period, never before — after claiming the
  record so that a late finishing upload fails instead of referencing a deleted blob.
- At start, and then hourly, what interrupted writes left in the store (temporary files,
  unfinished S3 multipart uploads) is removed: at start everything begun before this
  server did (less a minute for a remote store's clock), later what is a day old.

A store that is down makes the loop back off and retry; records wait in the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bayou.blobs import BlobStore, BlobStoreError
from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.database.transaction import Transaction
from bayou.model import file_storage
from bayou.model.file_storage import BLOB_GC, UPLOAD, GcRecord
from bayou.scheduler.loop import WakeLoop

log = logging.getLogger("bayou.files")

BATCH = 100
CLEAN_EVERY_S = 3600.0
INCOMPLETE_AGE_S = 24 * 3600.0
STORE_DOWN_RETRY_S = 30.0


class BlobCollector(WakeLoop):
    """Runs while the server runs; `collect_due()` is one pass (tests call it directly)."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        prefix: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(db, BLOB_GC.name, "bayou-blob-collector")
        self.store = store
        self.prefix = prefix
        self.clock = clock
        self.started = clock()
        self._cleaned_at = 0.0
        self._store_down = False

    async def recover(self) -> None:
        await self._clean_incomplete(before=self.started - self.store.clock_skew_s)

    async def tick(self) -> float | None:
        try:
            while await self.collect_due() == BATCH:
                pass
            if self.clock() - self._cleaned_at > CLEAN_EVERY_S:
                await self._clean_incomplete(before=self.clock() - INCOMPLETE_AGE_S)
        except BlobStoreError as e:
            if not self._store_down:
                log.warning("deleting blobs failed (retrying every %gs): %s", STORE_DOWN_RETRY_S, e)
            self._store_down = True
            return STORE_DOWN_RETRY_S
        if self._store_down:
            log.info("the file store answers again: deleting blobs resumed")
            self._store_down = False
        tx = self.db.begin(read_only=True)
        next_ms = await file_storage.next_due_ms(tx)
        return None if next_ms is None else max(next_ms / 1000.0 - self.clock(), 0.0) + 0.01

    async def collect_due(self) -> int:
        """Delete the blobs of the records due now (up to a batch); returns how many."""
        tx = self.db.begin(read_only=True)
        records = await file_storage.due(tx, self.clock() * 1000.0, BATCH)
        for record in records:
            await self._collect(record)
        return len(records)

    async def _collect(self, record: GcRecord) -> None:
        if record.reason == UPLOAD and not record.claimed:

            async def claim(tx: Transaction) -> bool:
                return await file_storage.claim(tx, record.id)

            claimed, _ = await run_transaction(self.db, claim)
            if not claimed:
                return  # the upload finished meanwhile: its blob is a file now
            log.info("discarding an upload that never finished (blob %s)", record.key)
        await self.store.delete(self.prefix + record.key)

        async def forget(tx: Transaction) -> None:
            await file_storage.forget(tx, record.id)

        await run_transaction(self.db, forget)

    async def _clean_incomplete(self, *, before: float) -> None:
        removed = await self.store.clean_incomplete(self.prefix, before)
        self._cleaned_at = self.clock()
        if removed:
            log.info("removed %d unfinished write(s) from the file store", removed)
