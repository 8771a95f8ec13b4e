"""Convex's limits on values and documents: size, nesting, lengths and names.

The size metric is Convex's (`size()` in the backend, `getConvexSize` in npm): null and
booleans 1, Int64 and Float64 9, strings and bytes their byte length + 2, arrays 2 + the
elements, objects 2 + Σ (field name length + 1 + value). A stored document may be at most
1 MiB by that measure (system fields included) and 16 levels deep; any value at most
32 MiB and 64 levels deep.
"""

from __future__ import annotations

from typing import Any, Final

from bayou.errors import BadRequest
from bayou.values.model import COMMIT_TS, UNDEFINED, Int64, type_name

MAX_VALUE_SIZE: Final = 1 << 25  # 32 MiB
MAX_NESTING: Final = 64
MAX_DOCUMENT_SIZE: Final = 1 << 20  # 1 MiB
MAX_DOCUMENT_NESTING: Final = 16
MAX_ARRAY_LEN: Final = 8192
MAX_OBJECT_FIELDS: Final = 1024
MAX_FIELD_NAME_LEN: Final = 1024
MAX_IDENTIFIER_LEN: Final = 64
SYSTEM_FIELDS: Final = frozenset({"_id", "_creationTime"})

_IDENTIFIER_RULES: Final = (
    "Identifiers must start with a letter and can only contain letters, digits, and underscores."
)
_IDENTIFIER_CODES: Final = {"table name": "InvalidTableName", "index name": "InvalidIndexName"}


# --------------------------------------------------------------------------- names


def field_name_error(name: object) -> BadRequest | None:
    """Why `name` is not a valid object field name, or None when it is.

    Field names are at most 1024 characters of non-control ASCII (0x20–0x7E) and do not
    start with `$` (reserved for encodings such as `{"$integer": …}`). The empty name is valid.
    """
    if type(name) is not str:
        return BadRequest(
            f"Field names must be strings, not {type(name).__name__} {name!r}",
            code="InvalidFieldName",
        )
    if name.startswith("$"):
        return BadRequest(
            f"Field name {name} starts with '$', which is reserved. Only the encodings "
            '{"$integer": …}, {"$float": …} and {"$bytes": …} may use a `$` key: '
            "rename the field.",
            code="InvalidFieldName",
        )
    if len(name) > MAX_FIELD_NAME_LEN:
        return BadRequest(
            f"Field name {name[:64]}… is too long ({len(name)} > maximum length "
            f"{MAX_FIELD_NAME_LEN}): use a shorter field name.",
            code="InvalidFieldName",
        )
    for ch in name:
        if not " " <= ch <= "~":
            return BadRequest(
                f"Field name {name} has invalid character {ch!r}: Field names can only "
                "contain non-control ASCII characters.",
                code="InvalidFieldName",
            )
    return None


def is_valid_field_name(name: str) -> bool:
    """True for a valid object field name (see `field_name_error`)."""
    return (
        name.isascii()
        and name.isprintable()
        and name[:1] != "$"
        and len(name) <= MAX_FIELD_NAME_LEN
    )


def identifier_error(name: object) -> str | None:
    """Why `name` is not an identifier (`[A-Za-z_][A-Za-z0-9_]*`, ≤ 64, not all `_`)."""
    if type(name) is not str:
        return f"expected a string, got {type(name).__name__}"
    if not name:
        return "Identifier cannot be empty"
    first = name[0]
    if not (first.isascii() and (first.isalpha() or first == "_")):
        return f"Invalid first character {first!r}: Identifiers must start with a letter"
    for ch in name:
        if not (ch.isascii() and (ch.isalnum() or ch == "_")):
            return f"Invalid character {ch!r}: Identifiers can only contain letters, digits and underscores"
    if len(name) > MAX_IDENTIFIER_LEN:
        return f"Identifier is too long ({len(name)} > maximum {MAX_IDENTIFIER_LEN})"
    if name.strip("_") == "":
        return "Identifiers cannot consist only of underscores"
    return None


def is_identifier(name: str) -> bool:
    """True for a valid identifier (table, index and function names)."""
    return identifier_error(name) is None


def check_identifier(name: str, what: str = "table name", *, system: bool = False) -> None:
    """Check a table or index name; names starting with `_` are allowed only if `system`.

    Raises `BadRequest` with `InvalidTableName` / `InvalidIndexName` (else
    `InvalidIdentifier`) and a message that names the rule.
    """
    code = _IDENTIFIER_CODES.get(what, "InvalidIdentifier")
    reason = identifier_error(name)
    if reason is not None:
        raise BadRequest(f'Invalid {what}: "{name}". {_IDENTIFIER_RULES} ({reason})', code=code)
    if name.startswith("_") and not system:
        raise BadRequest(
            f"Invalid {what}: \"{name}\" starts with '_', which is reserved for system names. "
            "Choose a name that starts with a letter.",
            code=code,
        )


# --------------------------------------------------------------------------- size


def _utf8_len(s: str) -> int:
    if s.isascii():
        return len(s)
    return len(s.encode("utf-8", "surrogatepass"))


def value_size(value: Any) -> int:
    """Convex's size of `value` in bytes (undefined object fields count nothing)."""
    t = type(value)
    if t is str:
        return 2 + _utf8_len(value)
    if t is float or t is Int64:
        return 9
    if t is bool or value is None:
        return 1
    if t is dict:
        size = 2
        for k, v in value.items():
            if v is not UNDEFINED:
                size += _utf8_len(k) + 1 + value_size(v)
        return size
    if t is list:
        size = 2
        for v in value:
            size += value_size(v)
        return size
    if t is bytes:
        return 2 + len(value)
    if value is COMMIT_TS:
        return 9
    if value is UNDEFINED:
        return 0
    raise BadRequest(f"{type_name(value)} {value!r} is not a Convex value", code="InvalidValue")


def format_size(n: int) -> str:
    """A byte count the way Convex's messages write it (`512 B`, `1.5 KiB`, `1.2 MiB`)."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            text = f"{n / scale:.2f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
    return f"{n} B"


# --------------------------------------------------------------------------- checks


class _Located(Exception):
    """A limit violation on its way up, collecting the path to the offending part."""

    def __init__(self, error: BadRequest) -> None:
        super().__init__(error.message)
        self.error = error
        self.path: list[str] = []


def _checked_size(value: Any, depth: int, max_depth: int, commit_ts: bool) -> int:
    """Size of a value at nesting `depth` (containers count from 1), checking everything."""
    t = type(value)
    if t is str:
        if value.isascii():
            return 2 + len(value)
        try:
            return 2 + len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise _Located(
                BadRequest(
                    "String contains a lone surrogate, which is not valid Unicode",
                    code="InvalidValue",
                )
            ) from None
    if t is float or t is Int64:
        return 9
    if t is bool or value is None:
        return 1
    if t is dict:
        if depth > max_depth:
            raise _Located(_too_nested(depth, max_depth))
        if len(value) > MAX_OBJECT_FIELDS:
            raise _Located(
                BadRequest(
                    f"Object has too many fields ({len(value)} > maximum number "
                    f"{MAX_OBJECT_FIELDS})",
                    code="TooManyFieldsError",
                )
            )
        size = 2
        for k, v in value.items():
            if not (
                type(k) is str
                and k.isascii()
                and k.isprintable()
                and k[:1] != "$"
                and len(k) <= MAX_FIELD_NAME_LEN
            ):
                raise _Located(field_name_error(k))  # type: ignore[arg-type]
            tv = type(v)
            if tv is float or tv is Int64:  # the common scalars, without a call
                size += len(k) + 10
            elif tv is str and v.isascii():
                size += len(k) + 3 + len(v)
            elif tv is bool or v is None:
                size += len(k) + 2
            else:
                try:
                    size += len(k) + 1 + _checked_size(v, depth + 1, max_depth, commit_ts)
                except _Located as e:
                    e.path.append(f".{k}")
                    raise
        return size
    if t is list:
        if depth > max_depth:
            raise _Located(_too_nested(depth, max_depth))
        if len(value) > MAX_ARRAY_LEN:
            raise _Located(
                BadRequest(
                    f"Array length is too long ({len(value)} > maximum length {MAX_ARRAY_LEN})",
                    code="ArrayTooLong",
                )
            )
        size = 2
        for i, v in enumerate(value):
            try:
                size += _checked_size(v, depth + 1, max_depth, commit_ts)
            except _Located as e:
                e.path.append(f"[{i}]")
                raise
        return size
    if t is bytes:
        return 2 + len(value)
    if value is COMMIT_TS and commit_ts:
        return 9
    raise _Located(_not_a_value(value))


def _not_a_value(value: object) -> BadRequest:
    if value is UNDEFINED:
        message = "undefined is not a valid Convex value: leave the field out instead"
    elif type(value) is int:
        message = (
            f"The Python int {value} is not a Convex value: use a float for numbers or "
            "Int64 for 64-bit integers"
        )
    elif value is COMMIT_TS:
        message = "The commit timestamp placeholder is only allowed in documents a mutation writes"
    else:
        message = (
            f"{type(value).__name__} {value!r} is not a supported Convex value. Convex values "
            "are None, bool, float, Int64, str, bytes, list and dict with string keys."
        )
    return BadRequest(message, code="InvalidValue")


def _too_nested(depth: int, max_depth: int) -> BadRequest:
    return BadRequest(
        f"Value is too nested (nested {depth} levels deep > maximum nesting {max_depth})",
        code="TooNestedError",
    )


def _measure(value: Any, max_depth: int, commit_ts: bool) -> int:
    try:
        return _checked_size(value, 1, max_depth, commit_ts)
    except _Located as e:
        error = e.error
        if e.path:
            path = "".join(reversed(e.path))
            error = BadRequest(f"{error.message} (at path {path})", code=error.code)
        raise error from None


def check_value(
    value: Any,
    *,
    max_depth: int = MAX_NESTING,
    max_size: int = MAX_VALUE_SIZE,
    commit_ts: bool = False,
) -> int:
    """Check that `value` is a valid Convex value within the limits; return its size.

    Checks the exact representation (a Python `int`, a tuple or `UNDEFINED` is an error),
    field names, array lengths, fields per object, nesting and size. `commit_ts=True`
    allows the `COMMIT_TS` placeholder.
    """
    size = _measure(value, max_depth, commit_ts)
    if size > max_size:
        raise BadRequest(
            f"Value is too large ({format_size(size)} > maximum size {format_size(max_size)})",
            code="ValueTooLargeError",
        )
    return size


def check_document(fields: dict[str, Any], *, commit_ts: bool = False) -> int:
    """Check a whole user document (system fields included) before it is stored.

    Raises `BadRequest` (`ValueTooLargeError`, `InvalidDocumentError`, `InvalidFieldName`,
    `ArrayTooLong`, `TooManyFieldsError`, `InvalidValue`) with a message that says what to
    change; returns the document's size.
    """
    if type(fields) is not dict:
        raise BadRequest(
            f"Documents must be objects, not {type_name(fields)}", code="InvalidDocumentError"
        )
    for name in fields:
        if type(name) is str and name.startswith("_") and name not in SYSTEM_FIELDS:
            raise BadRequest(
                f"Field '{name}' starts with an underscore, which is only allowed for system "
                "fields like '_id': rename the field.",
                code="InvalidDocumentError",
            )
    _check_system_fields(fields)
    try:
        size = _checked_size(fields, 1, MAX_DOCUMENT_NESTING, commit_ts)
    except _Located as e:
        error = e.error
        path = "".join(reversed(e.path))
        if error.code == "TooNestedError":
            error = BadRequest(
                f"Document is too nested (more than {MAX_DOCUMENT_NESTING} levels of objects "
                f"and arrays at {path or 'the top level'}): flatten it or move the nested "
                "data to another table",
                code="InvalidDocumentError",
            )
        elif path:
            error = BadRequest(f"{error.message} (at path {path})", code=error.code)
        raise error from None
    if size > MAX_DOCUMENT_SIZE:
        raise BadRequest(
            f"Document is too large ({format_size(size)}; the limit is "
            f"{format_size(MAX_DOCUMENT_SIZE)}): store large values in file storage or "
            "split the document",
            code="ValueTooLargeError",
        )
    return size


def _check_system_fields(fields: dict[str, Any]) -> None:
    document_id = fields.get("_id", "")
    if type(document_id) is not str:
        raise BadRequest(
            f"The '_id' field must be an Id string, not {type_name(document_id)}",
            code="InvalidDocumentError",
        )
    creation_time = fields.get("_creationTime", 1.0)
    if not (type(creation_time) is float and 0.0 < creation_time < 2.0**53):
        raise BadRequest(
            "The '_creationTime' field should be a timestamp in milliseconds (a positive "
            f"float), is {creation_time!r}",
            code="InvalidDocumentError",
        )
