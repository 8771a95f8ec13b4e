"""`define_schema` and `define_table`: the schema of `schema.py`, exported as the npm
package's `defineSchema(...).export()` JSON.

    schema = define_schema({
        "messages": define_table({"channel": v.id("channels"), "body": v.string()})
            .index("by_channel", ["channel"])
            .search_index("search_body", search_field="body", filter_fields=["channel"]),
    })
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bayou.runtimes.python.api.validators import (
    ObjectValidator,
    Validator,
    as_object_validator,
)
from bayou.runtimes.python.api.values import js_json_text
from bayou.values.limits import identifier_error


def _fields(fields: object, where: str) -> list[str]:
    if isinstance(fields, str) or not isinstance(fields, Sequence):
        raise TypeError(f'{where}: fields must be a list of field paths, like ["channel"]')
    out = []
    for f in fields:
        if not isinstance(f, str) or not f:
            raise TypeError(f"{where}: every field must be a non-empty string, not {f!r}")
        out.append(f)
    return out


def _name(name: object, what: str) -> str:
    reason = identifier_error(name)
    if reason is not None:
        raise ValueError(f"Invalid {what} {name!r}: {reason}")
    assert isinstance(name, str)
    if name.startswith("_"):
        raise ValueError(f"Invalid {what} {name!r}: names starting with `_` are reserved")
    return name


class TableDefinition:
    """A table of the schema: its document validator and its indexes."""

    def __init__(self, document_type: Validator) -> None:
        self.validator = document_type
        self._indexes: list[dict[str, Any]] = []
        self._staged_db_indexes: list[dict[str, Any]] = []
        self._search_indexes: list[dict[str, Any]] = []
        self._staged_search_indexes: list[dict[str, Any]] = []
        self._vector_indexes: list[dict[str, Any]] = []
        self._staged_vector_indexes: list[dict[str, Any]] = []
        self._names: set[str] = set()

    def _check_new(self, name: str, what: str) -> str:
        name = _name(name, what)
        if name in self._names:
            raise ValueError(f"Duplicate index name {name!r} in this table")
        self._names.add(name)
        return name

    def index(
        self, name: str, fields: Sequence[str] | None = None, *, staged: bool = False
    ) -> TableDefinition:
        """Add a database index on `fields` (`_creationTime` is appended implicitly).

        A staged index backfills in the background and is not queryable until un-staged.
        """
        name = self._check_new(name, "index name")
        entry = {"indexDescriptor": name, "fields": _fields(fields, f"index {name!r}")}
        (self._staged_db_indexes if staged else self._indexes).append(entry)
        return self

    def search_index(
        self,
        name: str,
        *,
        search_field: str,
        filter_fields: Sequence[str] = (),
        staged: bool = False,
    ) -> TableDefinition:
        """Add a full-text search index over the string field `search_field`."""
        name = self._check_new(name, "search index name")
        if not isinstance(search_field, str) or not search_field:
            raise TypeError(f"search index {name!r}: search_field must be a field path")
        entry = {
            "indexDescriptor": name,
            "searchField": search_field,
            "filterFields": _fields(list(filter_fields), f"search index {name!r}"),
        }
        (self._staged_search_indexes if staged else self._search_indexes).append(entry)
        return self

    def vector_index(
        self,
        name: str,
        *,
        vector_field: str,
        dimensions: int,
        filter_fields: Sequence[str] = (),
        staged: bool = False,
    ) -> TableDefinition:
        """Add a vector index over `vector_field` (lists of `dimensions` floats)."""
        name = self._check_new(name, "vector index name")
        if not isinstance(vector_field, str) or not vector_field:
            raise TypeError(f"vector index {name!r}: vector_field must be a field path")
        if isinstance(dimensions, bool) or not isinstance(dimensions, int):
            raise TypeError(f"vector index {name!r}: dimensions must be an int")
        if not 2 <= dimensions <= 4096:
            raise ValueError(f"vector index {name!r}: dimensions must be between 2 and 4096")
        entry = {
            "indexDescriptor": name,
            "vectorField": vector_field,
            "dimensions": dimensions,
            "filterFields": _fields(list(filter_fields), f"vector index {name!r}"),
        }
        (self._staged_vector_indexes if staged else self._vector_indexes).append(entry)
        return self

    def export(self) -> dict[str, Any]:
        """The table's part of the schema JSON (without its name)."""
        return {
            "indexes": [dict(i) for i in self._indexes],
            "stagedDbIndexes": [dict(i) for i in self._staged_db_indexes],
            "searchIndexes": [dict(i) for i in self._search_indexes],
            "stagedSearchIndexes": [dict(i) for i in self._staged_search_indexes],
            "vectorIndexes": [dict(i) for i in self._vector_indexes],
            "stagedVectorIndexes": [dict(i) for i in self._staged_vector_indexes],
            "documentType": self.validator.json,
        }

    def __repr__(self) -> str:
        return f"define_table({self.validator!r})"


def define_table(document: Mapping[str, Validator] | Validator) -> TableDefinition:
    """A table whose documents have these fields (a dict of validators), or match a
    validator (`v.object(...)`, a `v.union(...)` of objects, or `v.any()`)."""
    validator = as_object_validator(document, "define_table()")
    kind = validator.json["type"]
    is_objects = kind == "union" and all(m["type"] == "object" for m in validator.json["value"])
    if not (isinstance(validator, ObjectValidator) or kind == "any" or is_objects):
        raise TypeError(
            f"define_table() needs a dict of field validators, v.object(...), a v.union(...) of "
            f"objects, or v.any(); got {validator!r}"
        )
    if validator.is_optional:
        raise TypeError("define_table(): a document validator cannot be optional")
    return TableDefinition(validator)


class SchemaDefinition:
    """The schema of a deployment: its tables and whether documents are validated."""

    def __init__(
        self, tables: Mapping[str, TableDefinition], *, schema_validation: bool = True
    ) -> None:
        self.tables = dict(tables)
        self.schema_validation = schema_validation

    def export(self) -> str:
        """The JSON text `defineSchema(...).export()` produces."""
        return js_json_text(self.export_json())

    def export_json(self) -> dict[str, Any]:
        """The schema JSON as a tree."""
        return {
            "tables": [
                {"tableName": name, **definition.export()}
                for name, definition in self.tables.items()
            ],
            "schemaValidation": self.schema_validation,
        }

    def __repr__(self) -> str:
        return f"<schema with tables {sorted(self.tables)}>"


def define_schema(
    tables: Mapping[str, TableDefinition],
    *,
    schema_validation: bool = True,
    strict_table_name_types: bool = True,
) -> SchemaDefinition:
    """The schema: `{table name: define_table(...)}`.

    `schema_validation=False` stops checking documents against the schema (on deploy and on
    every write). `strict_table_name_types` only affects TypeScript code generation and is
    accepted for symmetry.
    """
    if not isinstance(tables, Mapping):
        raise TypeError("define_schema() needs a dict of {table name: define_table(...)}")
    for name, definition in tables.items():
        _name(name, "table name")
        if not isinstance(definition, TableDefinition):
            raise TypeError(
                f"define_schema(): the table {name!r} must be define_table(...), not "
                f"{type(definition).__name__}"
            )
    if not isinstance(schema_validation, bool):
        raise TypeError("define_schema(): schema_validation must be True or False")
    del strict_table_name_types
    return SchemaDefinition(tables, schema_validation=schema_validation)
