"""Function references: `api.messages.send`, `internal.admin.users.get`, or a path string;
`components.counter.lib.add` for a function of an installed component.

A reference names a function by its path (`"messages:send"`, `"admin/users:get"`), the way
the npm package's `api` object does; what is behind the path (and whether it is public) is
the backend's business when the reference is used. A component reference is the npm
package's `components` object: `components.<name>.<module…>.<function>` names a public
function of the component installed as `<name>` in `convex/convex.config.ts`.
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


class ComponentReference:
    """`components.shardedCounter.public.add`: a function of an installed component."""

    __slots__ = ("_segments",)
    _segments: tuple[str, ...]

    def __init__(self, segments: tuple[str, ...]) -> None:
        object.__setattr__(self, "_segments", segments)

    def __getattr__(self, name: str) -> ComponentReference:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return ComponentReference((*self._segments, name))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("function references are read-only")

    @property
    def reference_path(self) -> str:
        """`_reference/childComponent/<name>/<module…>/<function>`, as the npm package
        sends it; a reference needs a component, a module and a function."""
        if len(self._segments) < 3:
            dotted = ".".join(("components", *self._segments))
            raise ValueError(
                f"{dotted} is not a function reference: name a component, a module and a "
                "function, e.g. components.shardedCounter.public.add"
            )
        return "/".join(("_reference/childComponent", *self._segments))

    def __repr__(self) -> str:
        return ".".join(("components", *self._segments))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ComponentReference):
            return NotImplemented
        return self._segments == other._segments

    def __hash__(self) -> int:
        return hash(("components", self._segments))


api: Final = FunctionReference((), "public")
"""References to public functions: `api.messages.send` is the path `"messages:send"`."""

internal: Final = FunctionReference((), "internal")
"""References to internal functions: `internal.messages.clear` is `"messages:clear"`."""

components: Final = ComponentReference(())
"""References to the functions of installed components: `components.counter.lib.add`."""


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
    """The `{name}` / `{reference}` / `{functionHandle}` part of a syscall that names a
    function."""
    if isinstance(reference, ComponentReference):
        try:
            return {"reference": reference.reference_path}
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
    name = function_name(reference, where)
    if name.startswith("function://"):
        return {"functionHandle": name}
    return {"name": name}
