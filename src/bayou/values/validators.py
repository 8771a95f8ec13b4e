"""Convex validators (`v.string()`, `v.object({...})` …) in the JSON form the npm `v` builders
export, and the checks Convex runs with them.

    Validator.from_json({"type": "object", "value": {"a": {"fieldType": {"type": "string"},
                                                          "optional": False}}})
    validator.check(value, id_table=lambda id_string: "users")   # raises ValidationError

JSON form (`{"type": …}`): null, number (v.float64), bigint (v.int64), commitTs, boolean,
string, bytes, any, literal {value: Convex-encoded JSON}, id {tableName}, array {value},
record {keys, values: {fieldType, optional: false}}, object {value: {name: {fieldType,
optional}}}, union {value: [...]}. Failures read exactly like Convex's (`Value does not match
validator.` / `Path: .a[0]` / `Value: …` / `Validator: v.string()`), because users compare
them with what Convex shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

import orjson

from bayou.errors import BadRequest, ValidationError
from bayou.values import sort_key
from bayou.values.display import format_json_number, format_value
from bayou.values.json import from_json as value_from_json
from bayou.values.json import to_json as value_to_json
from bayou.values.limits import field_name_error, identifier_error
from bayou.values.model import COMMIT_TS, INT64_MAX, UNDEFINED, Int64

IdTable = Callable[[str], "str | None"]
"""Maps an id string to the name of the table it belongs to (None: not an id / no table)."""

_MISSING: Final = object()
_DOCS_HINT: Final = "See https://docs.convex.dev/functions/validation for docs on how to do"


def _bad(message: str, code: str = "InvalidValidator") -> BadRequest:
    return BadRequest(message, code=code)


# --------------------------------------------------------------------------- failures


class _Mismatch(Exception):
    """A failed check on its way up; collects the path, then becomes a ValidationError."""

    def __init__(self, render: Callable[[str], str]) -> None:
        super().__init__()
        self.render = render
        self.reversed_path: list[str] = []

    def to_error(self) -> ValidationError:
        path = "".join(reversed(self.reversed_path))
        context = f"Path: {path}" if path else ""
        return ValidationError(self.render(context), path=path)


def _no_match(value: Any, validator: Validator) -> _Mismatch:
    return _Mismatch(
        lambda ctx: (
            f"Value does not match validator.\n{ctx}\nValue: {format_value(value)}\n"
            f"Validator: {validator}"
        )
    )


# --------------------------------------------------------------------------- the tree


class Validator:
    """A parsed, immutable validator. Build one with `Validator.from_json`."""

    __slots__ = ()
    json_type: ClassVar[str] = ""

    @staticmethod
    def from_json(obj: Any) -> Validator:
        """Parse validator JSON; a `BadRequest` (`InvalidValidator`) says what is malformed."""
        return _parse(obj)

    def to_json(self) -> dict[str, Any]:
        """The validator's JSON, as the npm builders export it."""
        return {"type": self.json_type}

    def check(self, value: Any, *, id_table: IdTable) -> None:
        """Raise `ValidationError` (with `.path`) unless `value` matches."""
        try:
            self._check(value, id_table)
        except _Mismatch as mismatch:
            raise mismatch.to_error() from None

    def matches(self, value: Any, *, id_table: IdTable) -> bool:
        """True when `value` matches (like `check`, without building a message)."""
        try:
            self._check(value, id_table)
        except _Mismatch:
            return False
        return True

    def check_document(self, document: Mapping[str, Any], *, id_table: IdTable) -> None:
        """Check a stored document against a schema's document type.

        Top-level system fields (`_id`, `_creationTime`, any `_…`) are left out of the check,
        as Convex does; use a validator from `document_validator_from_json`.
        """
        body = {k: v for k, v in document.items() if k[:1] != "_"}
        self.check(body, id_table=id_table)

    def _check(self, value: Any, id_table: IdTable) -> None:
        raise NotImplementedError

    def __str__(self) -> str:
        return f"v.{self.json_type}()"


@dataclass(frozen=True, slots=True)
class _TypeValidator(Validator):
    """A validator without parameters that accepts the values of one Python type."""

    accepts: ClassVar[type] = type(None)
    display: ClassVar[str] = ""

    def _check(self, value: Any, id_table: IdTable) -> None:
        if type(value) is not self.accepts:
            raise _no_match(value, self)

    def __str__(self) -> str:
        return self.display


class NullValidator(_TypeValidator):
    """`v.null()`."""

    __slots__ = ()
    json_type = "null"
    accepts = type(None)
    display = "v.null()"


class Float64Validator(_TypeValidator):
    """`v.float64()` / `v.number()`: a float64 (not an Int64)."""

    __slots__ = ()
    json_type = "number"
    accepts = float
    display = "v.float64()"


class BooleanValidator(_TypeValidator):
    """`v.boolean()`."""

    __slots__ = ()
    json_type = "boolean"
    accepts = bool
    display = "v.boolean()"


class StringValidator(_TypeValidator):
    """`v.string()`."""

    __slots__ = ()
    json_type = "string"
    accepts = str
    display = "v.string()"


class BytesValidator(_TypeValidator):
    """`v.bytes()`."""

    __slots__ = ()
    json_type = "bytes"
    accepts = bytes
    display = "v.bytes()"


@dataclass(frozen=True, slots=True)
class Int64Validator(Validator):
    """`v.int64()` / `v.bigint()`: an Int64 (an unresolved commit timestamp counts as one)."""

    json_type: ClassVar[str] = "bigint"

    def _check(self, value: Any, id_table: IdTable) -> None:
        if type(value) is not Int64 and value is not COMMIT_TS:
            raise _no_match(value, self)

    def __str__(self) -> str:
        return "v.int64()"


@dataclass(frozen=True, slots=True)
class CommitTsValidator(Validator):
    """`v.commitTs()`: an Int64 or the commit timestamp placeholder."""

    json_type: ClassVar[str] = "commitTs"

    def _check(self, value: Any, id_table: IdTable) -> None:
        if type(value) is not Int64 and value is not COMMIT_TS:
            raise _no_match(value, self)

    def __str__(self) -> str:
        return "v.commitTs()"


@dataclass(frozen=True, slots=True)
class AnyValidator(Validator):
    """`v.any()`: every value."""

    json_type: ClassVar[str] = "any"

    def _check(self, value: Any, id_table: IdTable) -> None:
        return None

    def __str__(self) -> str:
        return "v.any()"


@dataclass(frozen=True, slots=True)
class IdValidator(Validator):
    """`v.id("table")`: a string that is the id of a document of `table_name`."""

    table_name: str
    json_type: ClassVar[str] = "id"

    def to_json(self) -> dict[str, Any]:
        return {"type": "id", "tableName": self.table_name}

    def _check(self, value: Any, id_table: IdTable) -> None:
        found = id_table(value) if type(value) is str else None
        if found is None:
            raise _no_match(value, self)
        if found != self.table_name:
            expected = self.table_name
            if found.startswith("_"):
                raise _Mismatch(
                    lambda ctx: (
                        f'Found ID "{value}" from a system table, which does not match the '
                        f'table name in validator `v.id("{expected}")`.{ctx}'
                    )
                )
            raise _Mismatch(
                lambda ctx: (
                    f'Found ID "{value}" from table `{found}`, which does not match the table '
                    f'name in validator `v.id("{expected}")`.{ctx}'
                )
            )

    def __str__(self) -> str:
        return f'v.id("{self.table_name}")'


@dataclass(frozen=True, slots=True)
class LiteralValidator(Validator):
    """`v.literal(x)`: a value equal to `x` (a float64, Int64, boolean or string) in Convex's
    order, so `v.literal(1)` does not accept `Int64(1)` and `NaN` matches the same NaN."""

    value: Any = field(compare=False)
    key: bytes = field(init=False, repr=False)
    json_type: ClassVar[str] = "literal"

    def __post_init__(self) -> None:
        if type(self.value) not in (float, Int64, bool, str):
            raise _bad(f"Value {format_value(self.value)} is not a valid literal.")
        object.__setattr__(self, "key", sort_key.encode(self.value))

    def to_json(self) -> dict[str, Any]:
        return {"type": "literal", "value": value_to_json(self.value)}

    def _check(self, value: Any, id_table: IdTable) -> None:
        if self._equals(value):
            return
        text = self._literal_text()
        raise _Mismatch(
            lambda ctx: (
                f"`{format_value(value)}` does not match literal validator `v.literal({text})`."
                f"{ctx}"
            )
        )

    def _equals(self, value: Any) -> bool:
        literal = self.value
        t = type(value)
        if value is COMMIT_TS:
            return type(literal) is Int64 and literal.value == INT64_MAX
        if t is not type(literal):
            return False
        if t is str or t is bool:
            return bool(value == literal)
        return t in (float, Int64) and sort_key.encode(value) == self.key

    def _literal_text(self) -> str:
        literal = self.value
        if type(literal) is str:
            return orjson.dumps(literal).decode()
        if type(literal) is bool:
            return "true" if literal else "false"
        if type(literal) is Int64:
            return "<bigint>"
        return format_json_number(literal)

    def __str__(self) -> str:
        return f"v.literal({self._literal_text()})"


@dataclass(frozen=True, slots=True)
class ArrayValidator(Validator):
    """`v.array(element)`."""

    element: Validator
    json_type: ClassVar[str] = "array"

    def to_json(self) -> dict[str, Any]:
        return {"type": "array", "value": self.element.to_json()}

    def _check(self, value: Any, id_table: IdTable) -> None:
        if type(value) is not list:
            raise _no_match(value, self)
        check = self.element._check
        for i, item in enumerate(value):
            try:
                check(item, id_table)
            except _Mismatch as mismatch:
                mismatch.reversed_path.append(f"[{i}]")
                raise

    def __str__(self) -> str:
        return f"v.array({self.element})"


@dataclass(frozen=True, slots=True)
class RecordValidator(Validator):
    """`v.record(keys, values)`: an object whose every field name matches `keys` (a string,
    id or union of those) and every value matches `values`."""

    keys: Validator
    values: Validator
    json_type: ClassVar[str] = "record"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "record",
            "keys": self.keys.to_json(),
            "values": {"fieldType": self.values.to_json(), "optional": False},
        }

    def _check(self, value: Any, id_table: IdTable) -> None:
        if type(value) is not dict:
            raise _no_match(value, self)
        for name in sorted(value):
            item = value[name]
            if item is UNDEFINED:
                continue
            try:
                self.keys._check(name, id_table)
            except _Mismatch as mismatch:
                mismatch.reversed_path.append(".keys()")
                raise
            try:
                self.values._check(item, id_table)
            except _Mismatch as mismatch:
                mismatch.reversed_path.append(".values()")
                raise

    def __str__(self) -> str:
        return f"v.record({self.keys}, {self.values})"


@dataclass(frozen=True, slots=True)
class FieldValidator:
    """One field of an object validator: its validator and whether it may be missing."""

    validator: Validator
    optional: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"fieldType": self.validator.to_json(), "optional": self.optional}

    def __str__(self) -> str:
        return f"v.optional({self.validator})" if self.optional else str(self.validator)


@dataclass(frozen=True, slots=True)
class ObjectValidator(Validator):
    """`v.object({...})`: every required field present, optional ones may be missing, and
    no other fields. `fields` keeps the order of the JSON it came from."""

    fields: tuple[tuple[str, FieldValidator], ...]
    _by_name: dict[str, FieldValidator] = field(init=False, repr=False, compare=False)
    _sorted: tuple[tuple[str, FieldValidator], ...] = field(init=False, repr=False, compare=False)
    json_type: ClassVar[str] = "object"

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", dict(self.fields))
        object.__setattr__(self, "_sorted", tuple(sorted(self.fields, key=lambda f: f[0])))

    @property
    def field_names(self) -> tuple[str, ...]:
        """The declared field names, in declaration order."""
        return tuple(name for name, _ in self.fields)

    def get(self, name: str) -> FieldValidator | None:
        """The field validator of `name`, or None when the object does not declare it."""
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[tuple[str, FieldValidator]]:
        return iter(self.fields)

    def to_json(self) -> dict[str, Any]:
        return {"type": "object", "value": {name: f.to_json() for name, f in self.fields}}

    def _check(self, value: Any, id_table: IdTable) -> None:
        if type(value) is not dict:
            raise _no_match(value, self)
        for name, field_validator in self._sorted:
            item = value.get(name, _MISSING)
            if item is _MISSING or item is UNDEFINED:
                if not field_validator.optional:
                    raise self._missing(value, name)
                continue
            try:
                field_validator.validator._check(item, id_table)
            except _Mismatch as mismatch:
                mismatch.reversed_path.append(f".{name}")
                raise
        by_name = self._by_name
        extra = [k for k in value if k not in by_name and value[k] is not UNDEFINED]
        if extra:
            raise self._extra(value, min(extra))

    def _missing(self, value: dict[str, Any], name: str) -> _Mismatch:
        return _Mismatch(
            lambda ctx: (
                f"Object is missing the required field `{name}`. Consider wrapping the field "
                f"validator in `v.optional(...)` if this is expected.\n{ctx}\n"
                f"Object: {format_value(value)}\nValidator: {self}"
            )
        )

    def _extra(self, value: dict[str, Any], name: str) -> _Mismatch:
        return _Mismatch(
            lambda ctx: (
                f"Object contains extra field `{name}` that is not in the validator.\n{ctx}\n"
                f"Object: {format_value(value)}\nValidator: {self}"
            )
        )

    def __str__(self) -> str:
        inner = ", ".join(f"{name}: {f}" for name, f in self._sorted)
        return f"v.object({{{inner}}})"


@dataclass(frozen=True, slots=True)
class UnionValidator(Validator):
    """`v.union(a, b, …)`: any member matches (the empty union matches nothing)."""

    members: tuple[Validator, ...]
    json_type: ClassVar[str] = "union"

    def to_json(self) -> dict[str, Any]:
        return {"type": "union", "value": [m.to_json() for m in self.members]}

    def _check(self, value: Any, id_table: IdTable) -> None:
        members = self.members
        if len(members) == 1:
            members[0]._check(value, id_table)
            return
        for member in members:
            try:
                member._check(value, id_table)
            except _Mismatch:
                continue
            return
        raise _no_match(value, self)

    def __str__(self) -> str:
        return "v.union(" + ", ".join(str(m) for m in self.members) + ")"


# --------------------------------------------------------------------------- parsing

_SIMPLE: Final[dict[str, Validator]] = {
    "null": NullValidator(),
    "number": Float64Validator(),
    "bigint": Int64Validator(),
    "commitTs": CommitTsValidator(),
    "boolean": BooleanValidator(),
    "string": StringValidator(),
    "bytes": BytesValidator(),
    "any": AnyValidator(),
    # Legacy `v.map()` / `v.set()` validators are read as `v.any()`, as Convex does.
    "map": AnyValidator(),
    "set": AnyValidator(),
}


def _require(obj: dict[str, Any], key: str, kind: str) -> Any:
    if key not in obj:
        raise _bad(f"Validator of type `{kind}` is missing the field `{key}`: {_show(obj)}")
    return obj[key]


def _show(obj: Any) -> str:
    try:
        text = orjson.dumps(obj).decode()
    except TypeError:
        text = repr(obj)
    return text if len(text) <= 200 else text[:200] + "…"


def _parse(obj: Any) -> Validator:
    if type(obj) is not dict or type(obj.get("type")) is not str:
        raise _bad(f"Validator JSON must be an object with a string `type`, got {_show(obj)}")
    kind = obj["type"]
    simple = _SIMPLE.get(kind)
    if simple is not None:
        return simple
    if kind == "literal":
        return LiteralValidator(value_from_json(_require(obj, "value", kind)))
    if kind == "id":
        table_name = _require(obj, "tableName", kind)
        reason = identifier_error(table_name)
        if reason is not None:
            raise _bad(f"Invalid table name {_show(table_name)} in v.id(): {reason}")
        return IdValidator(table_name)
    if kind == "array":
        return ArrayValidator(_parse(_require(obj, "value", kind)))
    if kind == "union":
        members = _require(obj, "value", kind)
        if type(members) is not list:
            raise _bad(f"The `value` of a union validator must be a list, got {_show(members)}")
        return UnionValidator(tuple(_parse(m) for m in members))
    if kind == "object":
        return _parse_object(_require(obj, "value", kind))
    if kind == "record":
        return _parse_record(_require(obj, "keys", kind), _require(obj, "values", kind))
    raise _bad(f"Unknown validator type {_show(kind)}")


def _parse_field(obj: Any) -> FieldValidator:
    if type(obj) is not dict or "fieldType" not in obj:
        raise _bad(f"A field validator must be {{fieldType, optional}}, got {_show(obj)}")
    optional = obj.get("optional")
    if type(optional) is not bool:
        raise _bad(f"A field validator needs a boolean `optional`, got {_show(obj)}")
    return FieldValidator(_parse(obj["fieldType"]), optional)


def _parse_object(fields: Any) -> ObjectValidator:
    if type(fields) is not dict:
        raise _bad(f"The `value` of an object validator must be an object, got {_show(fields)}")
    parsed = []
    for name, field_json in fields.items():
        problem = field_name_error(name)
        reason = problem.message if problem else identifier_error(name)
        if reason is not None:
            raise _bad(f"Invalid field name `{name}` in v.object(): {reason}")
        try:
            parsed.append((name, _parse_field(field_json)))
        except BadRequest as e:
            raise _bad(f"Invalid validator for key `{name}`: {e.message}", e.code) from None
    return ObjectValidator(tuple(parsed))


def _parse_record(keys_json: Any, values_json: Any) -> RecordValidator:
    keys = _parse(keys_json)
    if not _is_string_subtype(keys):
        raise _bad(
            "Records can only have string keys. Your validator contains a record with key "
            f"typed as `{keys}`, which is not a subtype of `v.string()`",
            code="InvalidRecordType",
        )
    values = _parse_field(values_json)
    if _has_string_literal(keys):
        raise _bad("Records cannot have string literal keys", code="InvalidRecordType")
    if values.optional:
        raise _bad("Records cannot have optional values", code="InvalidRecordType")
    return RecordValidator(keys, values.validator)


def _is_string_subtype(validator: Validator) -> bool:
    if type(validator) in (StringValidator, IdValidator):
        return True
    if type(validator) is LiteralValidator:
        return type(validator.value) is str
    if type(validator) is UnionValidator:
        return all(_is_string_subtype(m) for m in validator.members)
    return False


def _has_string_literal(validator: Validator) -> bool:
    if type(validator) is LiteralValidator:
        return type(validator.value) is str
    if type(validator) is UnionValidator:
        return any(_has_string_literal(m) for m in validator.members)
    return False


# --------------------------------------------------------------------------- functions and schemas


def _load(obj: Any) -> Any:
    if isinstance(obj, (str, bytes)):
        try:
            return orjson.loads(obj)
        except orjson.JSONDecodeError as e:
            raise _bad(f"Validator JSON is not valid JSON: {e}") from None
    return obj


def args_validator_from_json(obj: Any) -> ObjectValidator | None:
    """Parse a function's `exportArgs()` output (the JSON text or its parsed form).

    Returns the object validator, or None for `v.any()` (arguments are not validated).
    """
    try:
        validator = _parse(_load(obj))
    except BadRequest as e:
        raise _bad(
            f"Error in args validator: {e.message}\n{_DOCS_HINT} argument validation.", e.code
        ) from None
    if type(validator) is ObjectValidator:
        return validator
    if type(validator) is AnyValidator:
        return None
    raise _bad("Args validator must be an object or any")


def returns_validator_from_json(obj: Any) -> Validator | None:
    """Parse a function's `exportReturns()` output; None when it declares no `returns`."""
    loaded = _load(obj)
    if loaded is None:
        return None
    try:
        return _parse(loaded)
    except BadRequest as e:
        raise _bad(
            f"Error in returns validator: {e.message}\n{_DOCS_HINT} return value validation.",
            e.code,
        ) from None


def document_validator_from_json(obj: Any) -> Validator:
    """Parse a schema table's `documentType`: an object, a union of objects, or `v.any()`.

    Validators of top-level system fields (`_id`, `_creationTime`) are dropped, as Convex
    does; use `Validator.check_document` to check stored documents with the result.
    """
    validator = _parse(_load(obj))
    if type(validator) is AnyValidator:
        return validator
    if type(validator) is ObjectValidator:
        return _without_system_fields(validator)
    if type(validator) is UnionValidator and all(
        type(m) is ObjectValidator for m in validator.members
    ):
        return UnionValidator(tuple(_without_system_fields(m) for m in validator.members))  # type: ignore[arg-type]
    raise BadRequest(
        "The document validator in a schema must be an object, a union of objects, or "
        f"`v.any()`. Found {validator}. See https://docs.convex.dev/database/schemas for "
        "how to define a schema.",
        code="InvalidTopLevelTypeInSchemaError",
    )


def _without_system_fields(validator: ObjectValidator) -> ObjectValidator:
    if not any(name.startswith("_") for name in validator.field_names):
        return validator
    return ObjectValidator(tuple((n, f) for n, f in validator.fields if not n.startswith("_")))


def check_args(validator: ObjectValidator | None, args: list[Any], *, id_table: IdTable) -> None:
    """Check a function's arguments (the one-element array the clients send).

    The `ValidationError` message starts with `ArgumentValidationError: `, the text Convex's
    callers see; None (`v.any()`) accepts anything.
    """
    if validator is None:
        return
    if len(args) != 1:
        message = (
            "Expected to receive a single object as the function's argument. Instead "
            f"received {len(args)} arguments: {format_value(args)}"
        )
        raise ValidationError(f"ArgumentValidationError: {message}")
    if type(args[0]) is not dict:
        message = (
            "Expected to receive an object as the function's argument. Instead received: "
            f"{format_value(args[0])}"
        )
        raise ValidationError(f"ArgumentValidationError: {message}")
    try:
        validator._check(args[0], id_table)
    except _Mismatch as mismatch:
        error = mismatch.to_error()
        raise ValidationError(
            f"ArgumentValidationError: {error.message}", path=error.path
        ) from None


def check_returns(validator: Validator | None, value: Any, *, id_table: IdTable) -> None:
    """Check a function's return value; the message starts with `ReturnsValidationError: `."""
    if validator is None:
        return
    try:
        validator._check(value, id_table)
    except _Mismatch as mismatch:
        error = mismatch.to_error()
        raise ValidationError(f"ReturnsValidationError: {error.message}", path=error.path) from None
