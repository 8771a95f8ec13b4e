"""A cache of the newest committed revision of recently used documents.

Point reads dominate transactional workloads, and a hot document is read again and again;
under a steady stream of commits SQLite's reader has to revalidate its pages on every
read (~30 µs), and every read decodes JSON. The cache answers from memory instead.

An entry says "as of the latest published commit, the newest revision of this document
has timestamp `ts`" (or: the document does not exist). A read at snapshot `s` may use it
when `ts <= s`: no newer revision exists anywhere, so it is also the newest at `s`. The
committer overwrites entries for everything it publishes; a read fills an empty slot only
when no commit was published since its snapshot, so a stale revision can never be
installed over a newer one. Memory is bounded by the total JSON size (LRU eviction).
"""

from __future__ import annotations

from collections import OrderedDict

from bayou.database.document import Doc

Key = tuple[bytes, bytes]  # (table id, internal id)


class DocumentCache:
    def __init__(self, *, max_bytes: int = 64 * 1024 * 1024, max_entries: int = 200_000) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, tuple[int, Doc | None]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: Key, snapshot_ts: int) -> tuple[bool, Doc | None]:
        """(True, doc or None) when the cache knows the document at `snapshot_ts`."""
        entry = self._entries.get(key)
        if entry is None or entry[0] > snapshot_ts:
            self.misses += 1
            return False, None
        self._entries.move_to_end(key)
        self.hits += 1
        return True, entry[1]

    def fill(self, key: Key, ts: int, doc: Doc | None) -> None:
        """Remember what a read at the latest timestamp found (no-op if known already)."""
        if key not in self._entries:
            self._put(key, ts, doc)

    def publish(self, key: Key, ts: int, doc: Doc | None) -> None:
        """A commit at `ts` wrote this document (None: deleted)."""
        self._put(key, ts, doc)

    def _put(self, key: Key, ts: int, doc: Doc | None) -> None:
        old = self._entries.pop(key, None)
        if old is not None and old[1] is not None:
            self._bytes -= old[1].size
        self._entries[key] = (ts, doc)
        if doc is not None:
            self._bytes += doc.size
        while (
            self._bytes > self.max_bytes or len(self._entries) > self.max_entries
        ) and self._entries:
            _, (_, evicted) = self._entries.popitem(last=False)
            if evicted is not None:
                self._bytes -= evicted.size

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
