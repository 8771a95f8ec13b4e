"""The catalog: which tables and indexes exist, derived from the `_tables` and `_index` tables.

Metadata is stored as ordinary documents, so it is versioned, transactional and part of
the read and write sets like any other data: two transactions that create the same table
conflict on `_tables.by_name`, and a query depends on its table existing through a point
read there. The in-memory `Catalog` is an immutable projection of those documents; the
committer publishes a new one with every commit that writes metadata, and a transaction
sees the catalog of its snapshot plus its own metadata writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bayou.database.schema import DatabaseSchema
from bayou.errors import BadRequest
from bayou.values import ids

IndexState = Literal["backfilling", "enabled"]
SchemaState = Literal["pending", "validated", "active", "failed", "overwritten"]
IndexKind = Literal["by_id", "database", "search", "vector"]

BY_ID = "by_id"
BY_CREATION_TIME = "by_creation_time"
FIRST_USER_TABLE_NUMBER = 10001

# Fields every database index appends after its own, making each key unique per document.
SYSTEM_INDEX_SUFFIX = ("_creationTime", "_id")


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """One index of a table; `id` is the internal id of its `_index` document."""

    id: bytes
    table_id: bytes
    name: str
    fields: tuple[str, ...]  # user fields; database indexes append SYSTEM_INDEX_SUFFIX
    kind: IndexKind = "database"
    state: IndexState = "enabled"
    staged: bool = False
    # Vector indexes: the declared dimensions. Search and vector indexes keep their
    # search/vector field first in `fields`, then the filter fields.
    dimensions: int | None = None

    @property
    def key_fields(self) -> tuple[str, ...]:
        """Every field of the key, in order, as range expressions see them."""
        if self.kind == "by_id":
            return ("_id",)
        return self.fields + SYSTEM_INDEX_SUFFIX

    @property
    def queryable(self) -> bool:
        return self.state == "enabled" and not self.staged


@dataclass(frozen=True, slots=True)
class TableInfo:
    """One table; `id` (the tablet id) is the internal id of its `_tables` document."""

    id: bytes
    name: str
    number: int
    namespace: str = ""
    indexes: dict[str, IndexInfo] = field(default_factory=dict)

    @property
    def is_system(self) -> bool:
        return self.name.startswith("_")

    @property
    def by_id(self) -> IndexInfo:
        return self.indexes[BY_ID]

    @property
    def by_creation_time(self) -> IndexInfo:
        return self.indexes[BY_CREATION_TIME]

    def document_id(self, internal_id: bytes) -> str:
        return ids.encode_id(self.number, internal_id)


@dataclass(frozen=True, slots=True)
class SystemTable:
    """A system table's fixed definition: its number and its indexes (name → fields)."""

    name: str
    number: int
    indexes: dict[str, tuple[str, ...]] = field(default_factory=dict)


TABLES = SystemTable(
    "_tables", 1, {"by_name": ("namespace", "name"), "by_number": ("namespace", "number")}
)
INDEXES = SystemTable("_index", 2, {"by_table": ("tableId", "name")})
SCHEMAS = SystemTable("_schemas", 3, {"by_state": ("namespace", "state")})
CORE_SYSTEM_TABLES = (TABLES, INDEXES, SCHEMAS)


@dataclass(frozen=True, slots=True)
class SchemaRecord:
    """A `_schemas` document: a schema and where it is in its life cycle."""

    id: bytes
    namespace: str
    state: SchemaState
    schema: DatabaseSchema
    error: str | None = None


class Catalog:
    """An immutable view of tables, indexes and schemas; `with_*` methods return new catalogs."""

    __slots__ = ("_by_id", "_by_name", "_by_number", "_index_to_table", "_schemas")

    def __init__(
        self,
        tables: dict[bytes, TableInfo] | None = None,
        schemas: dict[bytes, SchemaRecord] | None = None,
    ) -> None:
        self._schemas: dict[bytes, SchemaRecord] = dict(schemas or {})
        self._by_id: dict[bytes, TableInfo] = dict(tables or {})
        self._by_name: dict[tuple[str, str], TableInfo] = {}
        self._by_number: dict[tuple[str, int], TableInfo] = {}
        self._index_to_table: dict[bytes, TableInfo] = {}
        for t in self._by_id.values():
            self._by_name[(t.namespace, t.name)] = t
            self._by_number[(t.namespace, t.number)] = t
            for ix in t.indexes.values():
                self._index_to_table[ix.id] = t

    def schema(self, namespace: str = "", state: SchemaState = "active") -> SchemaRecord | None:
        """The schema of `namespace` in `state` (at most one is active, one pending)."""
        for record in self._schemas.values():
            if record.namespace == namespace and record.state == state:
                return record
        return None

    def schema_by_id(self, internal_id: bytes) -> SchemaRecord | None:
        return self._schemas.get(internal_id)

    def tables(self) -> list[TableInfo]:
        return list(self._by_id.values())

    def table(self, name: str, namespace: str = "") -> TableInfo | None:
        return self._by_name.get((namespace, name))

    def table_by_number(self, number: int, namespace: str = "") -> TableInfo | None:
        return self._by_number.get((namespace, number))

    def table_by_id(self, table_id: bytes) -> TableInfo | None:
        return self._by_id.get(table_id)

    def table_of_index(self, index_id: bytes) -> TableInfo | None:
        return self._index_to_table.get(index_id)

    def next_user_table_number(self, namespace: str = "") -> int:
        numbers = [n for (ns, n) in self._by_number if ns == namespace]
        return max([FIRST_USER_TABLE_NUMBER - 1, *numbers]) + 1

    def table_for_id(self, document_id: str, namespace: str = "") -> TableInfo | None:
        """The table an id string belongs to, or None (undecodable or unknown table)."""
        try:
            number, _ = ids.decode_id(document_id)
        except BadRequest:
            return None
        return self.table_by_number(number, namespace)

    # -- functional updates, applied from `_tables` / `_index` documents --------------

    def with_table_doc(self, internal_id: bytes, doc: dict[str, Any] | None) -> Catalog:
        tables = dict(self._by_id)
        if doc is None:
            tables.pop(internal_id, None)
        else:
            old = tables.get(internal_id)
            tables[internal_id] = TableInfo(
                id=internal_id,
                name=doc["name"],
                number=int(doc["number"]),
                namespace=doc.get("namespace", ""),
                indexes=old.indexes if old else {},
            )
        return Catalog(tables, self._schemas)

    def with_index_doc(self, internal_id: bytes, doc: dict[str, Any] | None) -> Catalog:
        tables = dict(self._by_id)
        owner = self._index_to_table.get(internal_id)
        if owner is not None:
            indexes = {k: v for k, v in owner.indexes.items() if v.id != internal_id}
            tables[owner.id] = replace(tables[owner.id], indexes=indexes)
        if doc is not None:
            _, table_id = ids.decode_id(doc["tableId"])
            table = tables.get(table_id)
            if table is None:
                raise BadRequest(f"Index {doc['name']!r} refers to a table that does not exist")
            info = IndexInfo(
                id=internal_id,
                table_id=table_id,
                name=doc["name"],
                fields=tuple(doc["fields"]),
                kind=doc.get("kind", "database"),
                state=doc.get("state", "enabled"),
                staged=bool(doc.get("staged", False)),
                dimensions=None if doc.get("dimensions") is None else int(doc["dimensions"]),
            )
            tables[table_id] = replace(table, indexes={**table.indexes, info.name: info})
        return Catalog(tables, self._schemas)

    def with_schema_doc(self, internal_id: bytes, doc: dict[str, Any] | None) -> Catalog:
        schemas = dict(self._schemas)
        if doc is None or doc.get("state") == "overwritten":
            schemas.pop(internal_id, None)
        else:
            old = schemas.get(internal_id)
            schema = old.schema if old else DatabaseSchema.from_text(doc["schema"])
            schemas[internal_id] = SchemaRecord(
                internal_id, doc.get("namespace", ""), doc["state"], schema, doc.get("error")
            )
        return Catalog(self._by_id, schemas)
