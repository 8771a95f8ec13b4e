"""A cache of recently read index ranges' keys, over a local database.

A transactional workload reads the same narrow ranges again and again — the keynote
transfer looks an account up by `withIndex("by_account_id", q => q.eq("id", n))` — and
over SQLite each of those reads is a statement on the event loop. What an index range
holds changes only when a commit adds or removes one of the index's keys (inserting or
deleting a document, or changing an indexed field); rewriting a document whose indexed
fields stay the same leaves every range of that index as it was.

So an entry says "at snapshot `ts`, this range of this index held these keys", and it
answers a read at snapshot `s >= ts` as long as no published commit after `ts` added or
removed a key of that index (the cache keeps, per index, the timestamp of the last commit
that did). An index with constant inserts simply misses; a stable one (accounts looked up
by number) always hits. Entries are only filled by reads at the latest published
timestamp, and the whole cache is dropped when the catalog changes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from bayou.persistence.base import Order

RangeKey = tuple[bytes, bytes, bytes | None, Order, int]  # index, start, end, order, limit
Keys = list[tuple[bytes, bytes]]  # (index key, document id)


class IndexRangeCache:
    def __init__(self, *, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[RangeKey, tuple[int, Keys]] = OrderedDict()
        self._last_move: dict[bytes, int] = {}  # index id → ts of its newest added/removed key
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: RangeKey, snapshot_ts: int) -> Keys | None:
        """The range's keys at `snapshot_ts`, when the cache knows them (do not modify)."""
        entry = self._entries.get(key)
        if entry is not None:
            filled_ts, keys = entry
            if filled_ts <= snapshot_ts and self._last_move.get(key[0], 0) <= filled_ts:
                self._entries.move_to_end(key)
                self.hits += 1
                return keys
        self.misses += 1
        return None

    def fill(self, key: RangeKey, ts: int, keys: Keys) -> None:
        """Remember a range read at the latest published timestamp `ts`."""
        if self._last_move.get(key[0], 0) > ts:
            return
        self._entries[key] = (ts, keys)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def publish_moves(self, moves: Iterable[tuple[bytes, int]]) -> None:
        """Commits published: `(index id, ts)` for each index they added or removed keys of."""
        last = self._last_move
        for index_id, ts in moves:
            if ts > last.get(index_id, 0):
                last[index_id] = ts

    def clear(self) -> None:
        self._entries.clear()
