"""Database schemas: the JSON that `defineSchema(...).export()` produces, parsed and checked.

Shape (db-semantics.md §5.4):
`{"tables": [{"tableName", "indexes": [{"indexDescriptor", "fields"}], "stagedDbIndexes",
"searchIndexes", "stagedSearchIndexes", "vectorIndexes", "stagedVectorIndexes",
"documentType"}], "schemaValidation": bool}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from bayou.database.search.schema import parse_search_indexes
from bayou.errors import BadRequest
from bayou.values import limits
from bayou.values.validators import Validator, document_validator_from_json

MAX_INDEXES_PER_TABLE = 32
MAX_INDEX_FIELDS = 16
RESERVED_INDEX_NAMES = ("by_id", "by_creation_time", "by_id_and_creation_time")


@dataclass(frozen=True, slots=True)
class IndexSpec:
    name: str
    fields: tuple[str, ...]  # search/vector indexes: their search/vector field, then filters
    staged: bool = False
    kind: str = "database"  # "database" | "search" | "vector"
    dimensions: int | None = None  # vector indexes only


@dataclass(frozen=True, slots=True)
class TableSchema:
    name: str
    indexes: dict[str, IndexSpec] = field(default_factory=dict)
    search_indexes: tuple[dict[str, Any], ...] = ()
    vector_indexes: tuple[dict[str, Any], ...] = ()
    document_type: Validator | None = None


@dataclass(frozen=True, slots=True)
class DatabaseSchema:
    tables: dict[str, TableSchema]
    schema_validation: bool
    source: dict[str, Any]  # the JSON it was parsed from, stored verbatim

    @classmethod
    def from_json(cls, obj: Any) -> DatabaseSchema:
        """Parse and check a schema; errors name the table and index to fix."""
        if not isinstance(obj, dict) or not isinstance(obj.get("tables"), list):
            raise BadRequest(
                "A schema must be an object with a `tables` list (the output of "
                "defineSchema(...).export())",
                code="InvalidSchema",
            )
        tables: dict[str, TableSchema] = {}
        for t in obj["tables"]:
            table = _parse_table(t)
            if table.name in tables:
                raise BadRequest(
                    f"Table {table.name!r} is defined twice in the schema", code="InvalidSchema"
                )
            tables[table.name] = table
        validation = obj.get("schemaValidation", True)
        if not isinstance(validation, bool):
            raise BadRequest("`schemaValidation` must be a boolean", code="InvalidSchema")
        return cls(tables, validation, obj)

    def to_text(self) -> str:
        """The schema JSON as text: how `_schemas` stores it (validator JSON is not a Convex value)."""
        return orjson.dumps(self.source).decode()

    @classmethod
    def from_text(cls, text: str) -> DatabaseSchema:
        return cls.from_json(orjson.loads(text))

    def check_document(
        self, table: str, doc: dict[str, Any], id_table: Callable[[str], str | None]
    ) -> None:
        """Raise a ValidationError if validation is on and `doc` does not match its table."""
        if not self.schema_validation:
            return
        t = self.tables.get(table)
        if t is None or t.document_type is None:
            return
        t.document_type.check_document(doc, id_table=id_table)


def _parse_table(t: Any) -> TableSchema:
    if not isinstance(t, dict) or not isinstance(t.get("tableName"), str):
        raise BadRequest("Each schema table needs a `tableName` string", code="InvalidSchema")
    name = t["tableName"]
    limits.check_identifier(name, what="table name")
    indexes: dict[str, IndexSpec] = {}
    for raw, staged in [(i, False) for i in t.get("indexes") or []] + [
        (i, True) for i in t.get("stagedDbIndexes") or []
    ]:
        spec = _parse_index(name, raw, staged)
        if spec.name in indexes:
            raise BadRequest(f"Index {name}.{spec.name} is defined twice", code="InvalidSchema")
        indexes[spec.name] = spec
    search = tuple(t.get("searchIndexes") or ()) + tuple(t.get("stagedSearchIndexes") or ())
    vector = tuple(t.get("vectorIndexes") or ()) + tuple(t.get("stagedVectorIndexes") or ())
    for spec in (IndexSpec(**d) for d in parse_search_indexes(name, t)):
        if spec.name in indexes:
            raise BadRequest(f"Index {name}.{spec.name} is defined twice", code="InvalidSchema")
        indexes[spec.name] = spec
    if len(indexes) > MAX_INDEXES_PER_TABLE:
        raise BadRequest(
            f"Table {name!r} has more than {MAX_INDEXES_PER_TABLE} indexes", code="TooManyIndexes"
        )
    doc_type_json = t.get("documentType")
    doc_type = None if doc_type_json is None else document_validator_from_json(doc_type_json)
    return TableSchema(name, indexes, search, vector, doc_type)


def _parse_index(table: str, raw: Any, staged: bool) -> IndexSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("indexDescriptor"), str):
        raise BadRequest(
            f"Index of {table!r} needs an `indexDescriptor` string", code="InvalidSchema"
        )
    name = raw["indexDescriptor"]
    limits.check_identifier(name, what="index name")
    if name in RESERVED_INDEX_NAMES:
        raise BadRequest(
            f"Index name {name!r} on {table!r} is reserved; pick another name", code="InvalidSchema"
        )
    fields = raw.get("fields")
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise BadRequest(
            f"Index {table}.{name} needs a non-empty list of field names", code="InvalidSchema"
        )
    if len(fields) > MAX_INDEX_FIELDS:
        raise BadRequest(
            f"Index {table}.{name} has {len(fields)} fields; the limit is {MAX_INDEX_FIELDS}",
            code="InvalidSchema",
        )
    if len(set(fields)) != len(fields):
        raise BadRequest(f"Index {table}.{name} repeats a field", code="InvalidSchema")
    for f in fields:
        if f.startswith("_"):
            raise BadRequest(
                f"Index {table}.{name} uses system field {f!r}: `_creationTime` is added to every "
                "index automatically and `_id` cannot be indexed",
                code="InvalidSchema",
            )
    return IndexSpec(name, tuple(fields), staged)
