"""Documents as the database holds them, and the writes a transaction buffers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bayou.database.catalog import TableInfo
from bayou.persistence.base import DocumentRevision
from bayou.values import json as vjson


class Doc:
    """A document of a table: its decoded value (with `_id`, `_creationTime`) and JSON text.

    The JSON text is kept when the document comes from persistence, so that handing it to a
    runtime or a client needs no re-encoding. Values are shared: callers must not mutate them.
    """

    __slots__ = ("_json", "internal_id", "table", "ts", "value")

    def __init__(
        self,
        table: TableInfo,
        internal_id: bytes,
        value: dict[str, Any],
        ts: int | None = None,
        json: bytes | None = None,
    ) -> None:
        self.table = table
        self.internal_id = internal_id
        self.value = value
        self.ts = ts  # the revision's commit ts; None while only buffered in a transaction
        self._json = json

    @classmethod
    def from_revision(cls, table: TableInfo, revision: DocumentRevision) -> Doc:
        assert revision.value is not None
        return cls(table, revision.id, vjson.loads(revision.value), revision.ts, revision.value)

    @property
    def id(self) -> str:
        return self.value["_id"]

    @property
    def json(self) -> bytes:
        if self._json is None:
            self._json = vjson.dumps(self.value)
        return self._json

    @property
    def size(self) -> int:
        return len(self.json)

    def __repr__(self) -> str:
        return f"Doc({self.table.name}, {self.value!r})"


@dataclass(slots=True)
class Write:
    """A document's change within a transaction: its snapshot version and its new one.

    Several writes to one document coalesce; `old` stays what the snapshot had, so the
    committer can retract the old index keys. `old is None and new is None` is an insert
    followed by a delete: nothing to persist.
    """

    table: TableInfo
    internal_id: bytes
    old: Doc | None
    new: Doc | None
