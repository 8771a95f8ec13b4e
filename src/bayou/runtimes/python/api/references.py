"""Function references: `api.messages.send`, `internal.admin.users.get`, or a path string.

A reference names a function by its path (`"messages:send"`, `"admin/users:get"`), the way
the npm package's `api` object does; what is behind the path (and whether it is public) is
the backend's business when the reference is used.
"""

from __future__ import annotations

from typing import Any, Final


class FunctionReference:
    """A reference to a Convex function by path: `api.messages.send` is `"messages:send"`.

    Attribute access goes one level deeper (`api.admin.users.get` is `"admin/users:get"`),
    so every module and function name can be written as an attribute.
    """

    __slots__ = ("_segments", "_visibility")
    _segments: tuple[str, ...]
    _visibility: str

    def __init__(self, segments: tuple[str, ...], visibility: str) -> None:
        object.__setattr__(self, "_segments", segments)
        object.__setattr__(self, "_visibility", visibility)

    def __getattr__(self, name: str) -> FunctionReference:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return FunctionReference((*self._segments, name), self._visibility)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("function references are read-only")

    @property
    def function_path(self) -> str:
        """`"dir/module:function"`; a reference needs a module and a function name."""
        segments = self._segments
        if len(segments) < 2:
            root = "api" if self._visibility == "public" else "internal"
            dotted = ".".join((root, *segments))
            raise ValueError(
                f"{dotted} is not a function reference: name a module and a function, "
                f"e.g. {root}.messages.send"
            )
        return "/".join(segments[:-1]) + ":" + segments[-1]

    def __repr__(self) -> str:
        root = "api" if self._visibility == "public" else "internal"
        return ".".join((root, *self._segments))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FunctionReference):
            return NotImplemented
        return self._segments == other._segments

    def __hash__(self) -> int:
        return hash(self._segments)


api: Final = FunctionReference((), "public")
"""References to public functions: `api.messages.send` is the path `"messages:send"`."""

internal: Final = FunctionReference((), "internal")
"""References to internal functions: `internal.messages.clear` is `"messages:clear"`."""


def function_name(reference: Any, where: str) -> str:
    """The path a reference names: a `FunctionReference`, a registered function or a string."""
    if isinstance(reference, str):
        if not reference:
            raise ValueError(f"{where}: a function path cannot be empty")
        return reference
    if isinstance(reference, FunctionReference):
        return reference.function_path
    path = getattr(reference, "function_path", None)
    if isinstance(path, str):
        return path
    raise TypeError(
        f"{where}: {reference!r} is not a function reference; use api.module.function, "
        "internal.module.function or a path string like 'messages:send'"
    )


def function_address(reference: Any, where: str) -> dict[str, str]:
    """The `{name}` / `{functionHandle}` part of a syscall that names a function."""
    name = function_name(reference, where)
    if name.startswith("function://"):
        return {"functionHandle": name}
    return {"name": name}
