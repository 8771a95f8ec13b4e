"""The type signature of a value: what the number round-trip tests compare."""

from typing import Any

from bayou import Int64


def sig(value: Any) -> Any:
    """`"int"`, `"float"`, `"int64"` … for scalars; lists and dicts of signatures."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Int64):
        return "int64"
    if isinstance(value, list):
        return [sig(v) for v in value]
    if isinstance(value, dict):
        return {k: sig(v) for k, v in value.items()}
    return type(value).__name__
