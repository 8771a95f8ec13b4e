"""`v`: validators for arguments, return values and schemas, exported exactly as the npm
package's `v` builders export them (`{"type": "string"}`, `{"type": "object", "value": …}`).

    from bayou import v

    v.object({"name": v.string(), "age": v.optional(v.float64())})

A `Validator` only describes a type; the core checks values with `bayou.values.validators`
(parsed from `Validator.json`), so Python and TypeScript functions are checked the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from bayou.runtimes.python.api.values import js_json_text, to_convex
from bayou.values import Int64
from bayou.values.json import to_json
from bayou.values.limits import field_name_error

_TYPE_HINTS: Final[dict[object, str]] = {
    str: "v.string()",
    int: "v.float64() (or v.int64())",
    float: "v.float64()",
    bool: "v.boolean()",
    bytes: "v.bytes()",
    dict: "v.object({...})",
    list: "v.array(...)",
    None: "v.null()",
    type(None): "v.null()",
}


class Validator:
    """A Convex validator. Build one with `v`; read its JSON with `.json`."""

    __slots__ = ("_json", "_text", "is_optional")

    def __init__(self, json: dict[str, Any], text: str, *, optional: bool = False) -> None:
        self._json = json
        self._text = text
        self.is_optional = optional

    @property
    def json(self) -> dict[str, Any]:
        """The validator's JSON, as the npm builders' `.json` (a fresh copy)."""
        copied: dict[str, Any] = _copy(self._json)
        return copied

    def _as_optional(self) -> Validator:
        clone = object.__new__(type(self))
        for cls in type(self).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                object.__setattr__(clone, slot, getattr(self, slot))
        clone.is_optional = True
        return clone

    def __repr__(self) -> str:
        return f"v.optional({self._text})" if self.is_optional else self._text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Validator):
            return NotImplemented
        return self._json == other._json and self.is_optional == other.is_optional

    def __hash__(self) -> int:
        return hash(js_json_text(self._json))


class ObjectValidator(Validator):
    """`v.object({...})`: its `fields` keep their declaration order."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, Validator]) -> None:
        self.fields = fields
        inner = ", ".join(f"{k}: {f!r}" for k, f in fields.items())
        json = {
            "type": "object",
            "value": {
                name: {"fieldType": f._json, "optional": f.is_optional}
                for name, f in fields.items()
            },
        }
        super().__init__(json, f"v.object({{{inner}}})")


def _copy(obj: Any) -> Any:
    if type(obj) is dict:
        return {k: _copy(x) for k, x in obj.items()}
    if type(obj) is list:
        return [_copy(x) for x in obj]
    return obj


def _not_a_validator(value: object, where: str) -> TypeError:
    hint = _TYPE_HINTS.get(value) if isinstance(value, type) or value is None else None
    suggestion = f" Did you mean {hint}?" if hint else ""
    return TypeError(f"{where} must be a validator like v.string(), not {value!r}.{suggestion}")


def check_validator(value: object, where: str) -> Validator:
    """`value` when it is a validator, else a `TypeError` that suggests the right one."""
    if not isinstance(value, Validator):
        raise _not_a_validator(value, where)
    return value


def _required(value: object, where: str) -> Validator:
    validator = check_validator(value, where)
    if validator.is_optional:
        raise TypeError(
            f"{where} cannot be optional: v.optional(...) is only meaningful for a field of "
            "v.object({...}) or of a function's args."
        )
    return validator


def object_fields(fields: object, where: str) -> dict[str, Validator]:
    """Check a `{name: validator}` dict (object fields, function args, table documents)."""
    if not isinstance(fields, Mapping):
        raise TypeError(f"{where} must be a dict of validators, not {type(fields).__name__}")
    out: dict[str, Validator] = {}
    for name, validator in fields.items():
        if not isinstance(name, str):
            raise TypeError(f"{where}: field names must be strings, not {name!r}")
        problem = field_name_error(name)
        if problem is not None:
            raise ValueError(f"{where}: invalid field name {name!r}: {problem.message}")
        out[name] = check_validator(validator, f"{where}: the field {name!r}")
    return out


class _Builders:
    """The validator builders, used as `v.string()`, `v.object({...})` …"""

    def id(self, table_name: str) -> Validator:
        """The id of a document in `table_name` (a string)."""
        if not isinstance(table_name, str):
            raise TypeError("v.id(table_name) requires a string")
        return Validator({"type": "id", "tableName": table_name}, f'v.id("{table_name}")')

    def null(self) -> Validator:
        """`None`."""
        return Validator({"type": "null"}, "v.null()")

    def number(self) -> Validator:
        """A float64 number (alias of `float64`)."""
        return Validator({"type": "number"}, "v.float64()")

    def float64(self) -> Validator:
        """A float64 number: Python `float`, or `int` up to 2**53 (sent as a float)."""
        return Validator({"type": "number"}, "v.float64()")

    def bigint(self) -> Validator:
        """A 64-bit integer (alias of `int64`)."""
        return Validator({"type": "bigint"}, "v.int64()")

    def int64(self) -> Validator:
        """A 64-bit integer: `bayou.Int64(n)` (a JS `bigint`)."""
        return Validator({"type": "bigint"}, "v.int64()")

    def commit_ts(self) -> Validator:
        """An Int64 or the commit timestamp placeholder of a mutation."""
        return Validator({"type": "commitTs"}, "v.commitTs()")

    def boolean(self) -> Validator:
        """`True` or `False`."""
        return Validator({"type": "boolean"}, "v.boolean()")

    def string(self) -> Validator:
        """A `str`."""
        return Validator({"type": "string"}, "v.string()")

    def bytes(self) -> Validator:
        """A `bytes` value (a JS `ArrayBuffer`)."""
        return Validator({"type": "bytes"}, "v.bytes()")

    def literal(self, value: str | int | float | bool | Int64) -> Validator:
        """Exactly `value` (a str, number, bool or Int64)."""
        if not isinstance(value, (str, int, float, Int64)):
            raise TypeError("v.literal(value) must be a string, number, or boolean")
        converted = to_convex(value, "v.literal()")
        return Validator({"type": "literal", "value": to_json(converted)}, f"v.literal({value!r})")

    def array(self, element: Validator) -> Validator:
        """A list whose every element matches `element`."""
        element = _required(element, "The element validator of v.array()")
        return Validator({"type": "array", "value": element._json}, f"v.array({element!r})")

    def object(self, fields: Mapping[str, Validator]) -> ObjectValidator:
        """A dict with exactly these fields (`v.optional(...)` ones may be missing)."""
        return ObjectValidator(object_fields(fields, "v.object()"))

    def record(self, keys: Validator, values: Validator) -> Validator:
        """A dict whose keys match `keys` (a string or id validator) and values `values`."""
        keys = _required(keys, "The keys validator of v.record()")
        values = _required(values, "The values validator of v.record()")
        json = {
            "type": "record",
            "keys": keys._json,
            "values": {"fieldType": values._json, "optional": False},
        }
        return Validator(json, f"v.record({keys!r}, {values!r})")

    def union(self, *members: Validator) -> Validator:
        """Any of `members`."""
        checked = [_required(m, f"Member {i} of v.union()") for i, m in enumerate(members)]
        inner = ", ".join(repr(m) for m in checked)
        return Validator(
            {"type": "union", "value": [m._json for m in checked]}, f"v.union({inner})"
        )

    def any(self) -> Validator:
        """Any Convex value."""
        return Validator({"type": "any"}, "v.any()")

    def optional(self, value: Validator) -> Validator:
        """A field that may be missing (in `v.object` fields and function args)."""
        return check_validator(value, "The argument of v.optional()")._as_optional()

    def nullable(self, value: Validator) -> Validator:
        """`value` or `None` (the same as `v.union(value, v.null())`)."""
        return self.union(value, self.null())


v: Final = _Builders()
"""The validator builders: `v.string()`, `v.object({...})`, `v.optional(...)` …"""


def as_object_validator(value: object, where: str) -> Validator:
    """A dict of validators becomes `v.object(...)`; a validator stays itself."""
    if isinstance(value, Validator):
        return value
    if isinstance(value, Mapping):
        return ObjectValidator(object_fields(value, where))
    raise TypeError(
        f"{where} must be a dict of validators (or a validator such as v.object({{...}})), "
        f"not {type(value).__name__}"
    )
