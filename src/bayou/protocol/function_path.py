"""Function paths: `messages:list`, `dir/mod:fn`, `mod` (→ `mod:default`), `mod.js:fn`.

The canonical form names the module with its `.js` extension (`messages.js:list`); users
and messages see it without (`messages:list`). Module paths are relative, without `..`,
and `_system/…` modules are Bayou's own system functions (wire-protocol.md §6.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bayou.errors import BadRequest

_SEGMENT = re.compile(r"^[A-Za-z0-9_\-.@+]+$")
_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


@dataclass(frozen=True, slots=True)
class FunctionPath:
    """A module path without extension (`dir/messages`) and an export name (`list`)."""

    module: str
    name: str

    @classmethod
    def parse(cls, path: str) -> FunctionPath:
        if not isinstance(path, str) or not path:
            raise BadRequest(
                "A function path must be a non-empty string", code="BadConvexFunctionIdentifier"
            )
        module, sep, name = path.partition(":")
        if not sep:
            name = "default"
        if module.endswith(".js"):
            module = module[:-3]
        module = module.strip("/")
        parts = module.split("/")
        if not module or any(p in ("", ".", "..") or not _SEGMENT.match(p) for p in parts):
            raise BadRequest(
                f"Invalid function path {path!r}: use 'module:function', e.g. 'messages:list' "
                "or 'dir/file:function'",
                code="BadConvexFunctionIdentifier",
            )
        if not _NAME.match(name):
            raise BadRequest(
                f"Invalid function name {name!r} in {path!r}: it must be a JavaScript identifier",
                code="BadConvexFunctionIdentifier",
            )
        return cls(module, name)

    @property
    def module_file(self) -> str:
        """The pushed module's file name: `dir/messages.js`."""
        return self.module + ".js"

    @property
    def canonical(self) -> str:
        """`dir/messages.js:list`: the form stored, analyzed and logged."""
        return f"{self.module}.js:{self.name}"

    @property
    def is_system(self) -> bool:
        return self.module == "_system" or self.module.startswith("_system/")

    def __str__(self) -> str:
        """`dir/messages:list` (with `:default` dropped), as messages print paths."""
        return self.module if self.name == "default" else f"{self.module}:{self.name}"
