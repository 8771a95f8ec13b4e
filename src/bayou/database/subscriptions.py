"""Which read sets does a commit invalidate? An index over the read sets of live queries.

The sync layer registers the read set of every subscribed query; after each commit it asks
which of them the commit's written keys (old and new, every index) fall into. Point reads
(`db.get`, by far the most common) sit in a hash map; ranges sit per index in a list sorted
by start with a max-end segment tree for stabbing queries. A lookup costs
O(keys written × log(subscriptions) + matches), never a pass over all subscriptions.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable, Iterable

from bayou.database.read_set import ReadSet
from bayou.database.write_log import LogEntry

SubscriptionId = Hashable


class _Ranges:
    """Intervals of one index; stabbing queries via a segment tree of max ends.

    Subscriptions come and go with every re-run, so the tree is not rebuilt on each
    change: additions wait in a small unsorted list and removals in a set, both consulted
    by stabbing queries, and the tree is rebuilt only once they have grown past a fraction
    of its size — O(log n + changes) a query, rebuilds amortized over many changes.
    """

    __slots__ = ("_added", "_ends", "_items", "_owners", "_removed", "_starts", "_tree")

    def __init__(self) -> None:
        self._items: dict[tuple[SubscriptionId, bytes], bytes | None] = {}
        self._starts: list[bytes] = []
        self._ends: list[bytes | None] = []
        self._owners: list[SubscriptionId] = []
        self._tree: list[bytes | bool | None] = [False, False]
        # Changes since the last rebuild: what the tree lacks, and what it holds too many.
        self._added: dict[tuple[SubscriptionId, bytes], bytes | None] = {}
        self._removed: set[tuple[SubscriptionId, bytes]] = set()

    def add(self, sub: SubscriptionId, start: bytes, end: bytes | None) -> None:
        key = (sub, start)
        if key in self._items:
            self._removed.add(key)  # the tree's copy (if any) is outdated
        self._items[key] = end
        self._added[key] = end

    def remove(self, sub: SubscriptionId, start: bytes) -> None:
        key = (sub, start)
        if key in self._items:
            del self._items[key]
            self._added.pop(key, None)
            self._removed.add(key)

    def __len__(self) -> int:
        return len(self._items)

    def _rebuild(self) -> None:
        rows = sorted(((start, end, sub) for (sub, start), end in self._items.items()), key=_first)
        self._starts = [r[0] for r in rows]
        self._ends = [r[1] for r in rows]
        self._owners = [r[2] for r in rows]
        n = len(rows)
        size = 1
        while size < max(n, 1):
            size *= 2
        # Leaf value: the end (None = +inf), padded with False ("no interval").
        tree: list[bytes | bool | None] = [False] * (2 * size)
        for i, end in enumerate(self._ends):
            tree[size + i] = end
        for i in range(size - 1, 0, -1):
            tree[i] = _max(tree[2 * i], tree[2 * i + 1])
        self._tree = tree
        self._added.clear()
        self._removed.clear()

    def stab(self, key: bytes, out: set[SubscriptionId]) -> None:
        """Add to `out` the owners of every interval containing `key`."""
        if not self._items:
            return
        if len(self._added) + len(self._removed) > 32 + len(self._starts) // 8:
            self._rebuild()
        removed = self._removed
        for (sub, start), end in self._added.items():
            if start <= key and (end is None or key < end):
                out.add(sub)
        count = bisect_right(self._starts, key)  # tree intervals starting at or before key
        if count == 0:
            return
        size = len(self._tree) // 2
        stack = [(1, 0, size)]
        tree, owners, starts = self._tree, self._owners, self._starts
        while stack:
            node, lo, hi = stack.pop()
            if lo >= count or not _end_after(tree[node], key):
                continue
            if hi - lo == 1:
                if not removed or (owners[lo], starts[lo]) not in removed:
                    out.add(owners[lo])
                continue
            mid = (lo + hi) // 2
            stack.append((2 * node, lo, mid))
            stack.append((2 * node + 1, mid, hi))


def _max(a: bytes | bool | None, b: bytes | bool | None) -> bytes | bool | None:
    if a is False:
        return b
    if b is False:
        return a
    if a is None or b is None:
        return None
    return a if a >= b else b  # type: ignore[operator]


def _end_after(end: bytes | bool | None, key: bytes) -> bool:
    if end is False:
        return False
    return end is None or end > key  # type: ignore[operator]


class SubscriptionIndex:
    """Read sets of live subscriptions, searchable by written key."""

    def __init__(self) -> None:
        self._points: dict[tuple[bytes, bytes], set[SubscriptionId]] = {}
        self._ranges: dict[bytes, _Ranges] = {}
        self._registered: dict[SubscriptionId, list[tuple[bytes, bytes, bytes | None, bool]]] = {}

    def __len__(self) -> int:
        return len(self._registered)

    def __contains__(self, sub: SubscriptionId) -> bool:
        return sub in self._registered

    def add(self, sub: SubscriptionId, read_set: ReadSet) -> None:
        """Register (or replace) the read set of `sub`."""
        if sub in self._registered:
            self.remove(sub)
        entries = []
        for index_id, intervals in read_set.intervals.items():
            for start, end in intervals:
                if end is not None and end == start + b"\x00":
                    self._points.setdefault((index_id, start), set()).add(sub)
                    entries.append((index_id, start, end, True))
                else:
                    ranges = self._ranges.get(index_id)
                    if ranges is None:
                        ranges = self._ranges[index_id] = _Ranges()
                    ranges.add(sub, start, end)
                    entries.append((index_id, start, end, False))
        self._registered[sub] = entries

    def remove(self, sub: SubscriptionId) -> None:
        for index_id, start, _end, point in self._registered.pop(sub, ()):
            if point:
                subs = self._points.get((index_id, start))
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._points[(index_id, start)]
            else:
                ranges = self._ranges.get(index_id)
                if ranges is not None:
                    ranges.remove(sub, start)
                    if not len(ranges):
                        del self._ranges[index_id]

    def invalidated_by(self, keys: Iterable[tuple[bytes, bytes]]) -> set[SubscriptionId]:
        """Subscriptions whose read set contains any of the written `(index id, key)`."""
        out: set[SubscriptionId] = set()
        points, ranges = self._points, self._ranges
        for index_id, key in keys:
            subs = points.get((index_id, key))
            if subs:
                out.update(subs)
            r = ranges.get(index_id)
            if r is not None:
                r.stab(key, out)
        return out

    def invalidated_by_entries(self, entries: Iterable[LogEntry]) -> set[SubscriptionId]:
        out: set[SubscriptionId] = set()
        for entry in entries:
            out |= self.invalidated_by(entry.keys)
        return out


def _first(row: tuple) -> bytes:
    return row[0]
