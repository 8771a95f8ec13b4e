"""Vector indexes: exact cosine search over an in-memory matrix kept current by commits.

Each vector index has a cache: unit-normalised float32 rows (one slot per document whose
vector field is a list of exactly `dimensions` finite numbers — others are not indexed,
as in Convex), the document ids, and per filter field a map from the value's sort key to
the slots holding it. The cache is loaded on the first search from a snapshot scan; from
then on every commit that writes the table names the written documents in the write log
under the index's id, and the next search re-reads those documents at the latest
timestamp before it scores. So a search sees every commit published before it started
(Convex's vector search is not transactional: db-semantics.md §3.9).

Scoring is one BLAS matrix-vector product and an `argpartition`: exact, so recall is 1.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bayou.database.catalog import IndexInfo, TableInfo
from bayou.database.index_key import field_value
from bayou.values import json as vjson
from bayou.values import sort_key

if TYPE_CHECKING:
    from bayou.database.database import Database
    from bayou.database.write_log import LogEntry

SCAN_PAGE = 100  # documents per slice of a cache load (~20 ms at 1,536 dimensions)


def as_vector(value: Any, dimensions: int) -> np.ndarray | None:
    """The unit vector of a document's vector field, or None when it is not indexable."""
    if not isinstance(value, list) or len(value) != dimensions:
        return None
    if not all(type(x) is float for x in value):
        return None
    vec = np.asarray(value, dtype=np.float32)
    if not np.all(np.isfinite(vec)):
        return None
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


@dataclass
class VectorCache:
    """The rows of one vector index."""

    index: IndexInfo
    table_id: bytes
    matrix: np.ndarray
    ids: list[str | None] = field(default_factory=list)
    slot_of: dict[bytes, int] = field(default_factory=dict)
    free: list[int] = field(default_factory=list)
    filters: list[dict[bytes, set[int]]] = field(default_factory=list)
    filter_keys: dict[int, tuple[bytes, ...]] = field(default_factory=dict)
    dirty: set[bytes] = field(default_factory=set)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def empty(cls, index: IndexInfo, table_id: bytes) -> VectorCache:
        dims = index.dimensions or 0
        cache = cls(index, table_id, np.zeros((64, dims), dtype=np.float32))
        cache.filters = [{} for _ in index.fields[1:]]
        return cache

    @property
    def size(self) -> int:
        return len(self.slot_of)

    def put(self, internal_id: bytes, doc: dict[str, Any] | None) -> None:
        """Index the document's current version (None: deleted)."""
        self.remove(internal_id)
        if doc is None:
            return
        vec = as_vector(field_value(doc, self.index.fields[0]), self.index.dimensions or 0)
        if vec is None:
            return
        slot = self.free.pop() if self.free else len(self.ids)
        if slot == len(self.ids):
            self.ids.append(None)
            if slot >= len(self.matrix):
                grown = np.zeros((len(self.matrix) * 2, self.matrix.shape[1]), dtype=np.float32)
                grown[: len(self.matrix)] = self.matrix
                self.matrix = grown
        self.matrix[slot] = vec
        self.ids[slot] = doc["_id"]
        self.slot_of[internal_id] = slot
        keys = tuple(sort_key.encode(field_value(doc, f)) for f in self.index.fields[1:])
        self.filter_keys[slot] = keys
        for values, key in zip(self.filters, keys, strict=True):
            values.setdefault(key, set()).add(slot)

    def remove(self, internal_id: bytes) -> None:
        slot = self.slot_of.pop(internal_id, None)
        if slot is None:
            return
        self.ids[slot] = None
        self.matrix[slot] = 0.0
        for values, key in zip(self.filters, self.filter_keys.pop(slot), strict=True):
            slots = values[key]
            slots.discard(slot)
            if not slots:
                del values[key]
        self.free.append(slot)

    def search(
        self, vector: np.ndarray, limit: int, conditions: list[tuple[int, bytes]] | None
    ) -> list[dict[str, Any]]:
        """The `limit` nearest documents (cosine), among those matching any condition."""
        n = len(self.ids)
        if conditions is None:
            slots = None
        else:
            chosen: set[int] = set()
            for position, key in conditions:
                chosen |= self.filters[position - 1].get(key, set())
            if not chosen:
                return []
            slots = np.fromiter(chosen, dtype=np.int64, count=len(chosen))
        rows = self.matrix[:n] if slots is None else self.matrix[slots]
        scores = rows @ vector
        if slots is None:
            alive = np.fromiter((i is not None for i in self.ids), dtype=bool, count=n)
            scores = np.where(alive, scores, -np.inf)
        k = min(limit, len(scores))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        out = []
        for i in top:
            score = float(scores[i])
            if score == -math.inf:
                break
            slot = int(i) if slots is None else int(slots[i])
            out.append({"_id": self.ids[slot], "_score": score})
        return out


class VectorIndexes:
    """The vector caches of one database, loaded on first use."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._caches: dict[bytes, VectorCache] = {}
        self._listening = False

    def _on_commit(self, entries: list[LogEntry]) -> None:
        caches = self._caches
        for entry in entries:
            for index_id, keys in entry.by_index.items():
                cache = caches.get(index_id)
                if cache is not None:
                    cache.dirty.update(keys)

    async def cache(self, table: TableInfo, index: IndexInfo) -> VectorCache:
        """The up-to-date cache of `index` (loading it the first time)."""
        if not self._listening:
            self._db.add_commit_listener(self._on_commit)
            self._listening = True
        live = {i.id for t in self._db.catalog.tables() for i in t.indexes.values()}
        for stale in [i for i in self._caches if i not in live]:
            del self._caches[stale]
        cache = self._caches.get(index.id)
        if cache is None:
            cache = self._caches[index.id] = VectorCache.empty(index, table.id)
            try:
                await self._load(cache)
            except BaseException:
                del self._caches[index.id]
                raise
            finally:
                cache.loaded.set()
        await cache.loaded.wait()
        await self._refresh(cache)
        return cache

    async def _load(self, cache: VectorCache) -> None:
        db = self._db
        snapshot = db.latest_ts
        after: bytes | None = None
        while True:
            page = await db.persistence.scan_table(cache.table_id, snapshot, after, SCAN_PAGE)
            for revision in page:
                assert revision.value is not None
                cache.put(revision.id, vjson.loads(revision.value))
            if len(page) < SCAN_PAGE:
                return
            after = page[-1].id
            await asyncio.sleep(0)  # a big index loads in slices: the server keeps serving

    async def _refresh(self, cache: VectorCache) -> None:
        while cache.dirty:
            ids, cache.dirty = cache.dirty, set()
            ts = self._db.latest_ts
            revisions = await self._db.persistence.get_documents(
                [(cache.table_id, i) for i in ids], ts
            )
            for internal_id in ids:
                revision = revisions.get((cache.table_id, internal_id))
                live = revision is not None and revision.value is not None
                cache.put(internal_id, vjson.loads(revision.value) if live else None)  # type: ignore[union-attr, arg-type]
