"""The seam between the core and a language runtime (JavaScript in Node, Python).

The core hands a runtime a set of modules by version, asks it to analyze them, and invokes
functions with a `SyscallHandler`; user code reaches the database only through syscalls
with Convex's names and JSON shapes (js-compat.md §2.1), so the core never knows which
language a function was written in. Everything crosses as JSON text, decoded once by the
core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

UdfKind = Literal["query", "mutation", "action"]


class SyscallHandler(Protocol):
    """Answers the syscalls of one invocation (JSON in, JSON out; raise to reject)."""

    async def async_syscall(self, op: str, args: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class RuntimeModule:
    """A module as pushed: `path` like `messages.js` or `messages.py`."""

    path: str
    source: str
    source_map: str | None = None
    environment: str = "isolate"  # "isolate" | "node" | "python"


@dataclass(frozen=True, slots=True)
class Invocation:
    version: str  # module-set version; modules are loaded once per worker and version
    udf_type: UdfKind
    path: str  # canonical "dir/module.js:export"
    args_json: str  # JSON text of the one-element array [convexJson(args)]
    env: dict[str, str]  # deployment environment variables
    seed: int  # Math.random / random seed (queries and mutations)
    now_ms: float  # frozen clock for queries and mutations
    table_numbers: dict[str, int]  # user tables of the root component, for normalizeId
    request_id: str
    timeout_s: float  # user-time limit


@dataclass(slots=True)
class InvocationResult:
    ok: bool
    value_json: str | None = None  # convex-encoded result, JSON text
    error_message: str | None = None  # "Uncaught Error: boom\n    at handler (convex/m.ts:4:9)"
    error_data_json: str | None = None  # ConvexError data, JSON text (only for ConvexError)
    log_lines: list[dict[str, Any]] = field(default_factory=list)
    # {"level": "LOG"|"INFO"|"WARN"|"ERROR"|"DEBUG", "messages": [str], "timestamp": ms,
    #  "isTruncated": bool}


class Runtime(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def load(self, version: str, modules: list[RuntimeModule]) -> None: ...
    async def analyze(self, version: str) -> Any: ...
    async def invoke(self, call: Invocation, syscalls: SyscallHandler) -> InvocationResult: ...
