"""Index keys of documents, and index-range expressions compiled to key intervals.

A database index key is the concatenation of the sort keys of the indexed field values
(a missing field sorts as `undefined`), then `_creationTime`, then `_id`; each sort key is
self-delimiting, so "equal on the first k fields" means "starts with those k encodings"
(db-semantics.md §1.3, §3.3). A `by_id` key is the document's 16-byte internal id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bayou.database.catalog import IndexInfo
from bayou.errors import BadRequest
from bayou.values import UNDEFINED, sort_key
from bayou.values.json import from_json


def field_value(doc: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, or UNDEFINED if a step is missing or not an object."""
    if "." not in path:
        return doc.get(path, UNDEFINED)
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return UNDEFINED
        value = value.get(part, UNDEFINED)
        if value is UNDEFINED:
            return UNDEFINED
    return value


def document_key(index: IndexInfo, internal_id: bytes, doc: dict[str, Any]) -> bytes:
    """The key of `doc` in `index`."""
    if index.kind == "by_id":
        return internal_id
    encode = sort_key.encode
    parts = [encode(field_value(doc, f)) for f in index.fields]
    parts.append(encode(doc["_creationTime"]))
    parts.append(encode(doc["_id"]))
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class RangeBound:
    """One `q.eq/gt/gte/lt/lte(field, value)` of an index range expression."""

    op: str  # "Eq" | "Gt" | "Gte" | "Lt" | "Lte"
    field: str
    value: Any  # a decoded Convex value, possibly UNDEFINED


_OPS = {"Eq", "Gt", "Gte", "Lt", "Lte"}


def parse_range(range_json: Sequence[Any]) -> list[RangeBound]:
    """Parse the `range` list of an `IndexRange` query source."""
    if not isinstance(range_json, list):
        raise BadRequest("Index range must be a list of bounds", code="InvalidIndexRange")
    bounds = []
    for item in range_json:
        if not isinstance(item, dict) or item.get("type") not in _OPS:
            raise BadRequest(f"Invalid index range bound: {item!r}", code="InvalidIndexRange")
        path = item.get("fieldPath")
        if not isinstance(path, str):
            raise BadRequest("Index range bound needs a fieldPath string", code="InvalidIndexRange")
        raw = item.get("value")
        # `eq(field, db.vars.commitTs)` finds a mutation's own pending rows.
        value = UNDEFINED if raw == {"$undefined": None} else from_json(raw, commit_ts=True)
        bounds.append(RangeBound(item["type"], path, value))
    return bounds


def compile_range(
    index: IndexInfo, table: str, bounds: Sequence[RangeBound]
) -> tuple[bytes, bytes | None]:
    """The key interval `[start, end)` that a range expression selects on `index`.

    Rules (reference §3.3): equalities on a prefix of the index fields, then at most one
    lower and one upper bound on the next field; anything else is an error that says
    what is allowed.
    """
    fields = index.key_fields
    if index.kind == "by_id":
        raise BadRequest("Range expressions are not supported on by_id", code="InvalidIndexRange")
    eqs: dict[str, Any] = {}
    lower: RangeBound | None = None
    upper: RangeBound | None = None
    ineq_field: str | None = None
    for b in bounds:
        if b.field not in fields:
            raise BadRequest(
                f"The index range for {table}.{index.name} uses field {b.field!r}, which is not "
                f"in the index. Its fields are {list(fields)}.",
                code="FieldNotInIndex",
            )
        if b.op == "Eq":
            if b.field in eqs or b.field == ineq_field:
                raise BadRequest(
                    f"Field {b.field!r} is constrained twice in the index range for "
                    f"{table}.{index.name}.",
                    code="AlreadyDefinedBound",
                )
            eqs[b.field] = b.value
            continue
        if ineq_field is not None and ineq_field != b.field:
            raise BadRequest(
                f"The index range for {table}.{index.name} has bounds on {ineq_field!r} and "
                f"{b.field!r}: only one field may have lower/upper bounds, after equalities "
                "on the fields before it.",
                code="BoundsOnMultipleFields",
            )
        if b.field in eqs:
            raise BadRequest(
                f"Field {b.field!r} has both an equality and a bound in the index range for "
                f"{table}.{index.name}.",
                code="AlreadyDefinedBound",
            )
        ineq_field = b.field
        if b.op in ("Gt", "Gte"):
            if lower is not None:
                raise BadRequest(
                    f"Field {b.field!r} has two lower bounds in the index range.",
                    code="AlreadyDefinedBound",
                )
            lower = b
        else:
            if upper is not None:
                raise BadRequest(
                    f"Field {b.field!r} has two upper bounds in the index range.",
                    code="AlreadyDefinedBound",
                )
            upper = b

    constrained = len(eqs) + (1 if ineq_field else 0)
    expected = fields[:constrained]
    if set(expected) != set(eqs) | ({ineq_field} if ineq_field else set()) or (
        ineq_field is not None and expected[-1] != ineq_field
    ):
        raise BadRequest(
            f"The index range for {table}.{index.name} must constrain a prefix of the index "
            f"fields {list(fields)} in order (equalities first, then bounds on the next field); "
            f"it constrains {[*eqs, *([ineq_field] if ineq_field else [])]}.",
            code="InvalidIndexRange",
        )

    prefix = b"".join(sort_key.encode(eqs[f]) for f in fields[: len(eqs)])
    if lower is None:
        start = prefix
    elif lower.op == "Gte":
        start = prefix + sort_key.encode(lower.value)
    else:
        after = sort_key.prefix_successor(prefix + sort_key.encode(lower.value))
        if after is None:  # nothing sorts above it: the range is empty
            return prefix, prefix
        start = after
    if upper is None:
        if len(eqs) == len(fields):
            end: bytes | None = prefix + b"\x00"
        else:
            end = sort_key.prefix_successor(prefix) if prefix else None
    elif upper.op == "Lt":
        end = prefix + sort_key.encode(upper.value)
    else:
        end = sort_key.prefix_successor(prefix + sort_key.encode(upper.value))
    return start, end
