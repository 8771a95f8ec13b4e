"""The seam between the core and a language runtime (JavaScript in Node, Python).

The core hands a runtime a set of modules by version, asks it to analyze them, and invokes
functions with a `SyscallHandler`; user code reaches the database only through syscalls
with Convex's names and JSON shapes (js-compat.md §2.1), so the core never knows which
language a function was written in. Everything crosses as JSON text, decoded once by the
core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol, TypedDict

from bayou.errors import BadRequest

UdfKind = Literal["query", "mutation", "action"]


@dataclass(frozen=True, slots=True)
class RuntimeModule:
    """A module as pushed: `path` like `messages.js` or `messages.py`."""

    path: str
    source: str
    source_map: str | None = None
    environment: str = "isolate"  # "isolate" | "node" | "python"

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> RuntimeModule:
        """A module as the CLI sends it: `{path, source, sourceMap?, environment}`."""
        return cls(
            obj["path"], obj["source"], obj.get("sourceMap"), obj.get("environment", "isolate")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source": self.source,
            "sourceMap": self.source_map,
            "environment": self.environment,
        }


# Convex's defaults: 1 s of JS time for queries and mutations, 10 minutes for actions.
DEFAULT_TIMEOUTS_S: Mapping[str, float] = MappingProxyType(
    {"query": 1.0, "mutation": 1.0, "action": 600.0}
)


class SyscallHandler(Protocol):
    """Answers the asynchronous syscalls of one call (and of nothing else).

    `op` is Convex's name ("1.0/get", "1.0/insert", "1.0/queryStreamNext" …), `args` its
    parsed JSON arguments; return the JSON result (any value orjson can serialise, including
    `orjson.Fragment` for text that is already JSON). Raise to make the call in JS throw:
    the exception's `message` attribute (or `str()`) becomes the JS error's message, and a
    `bayou.errors.ConvexError` (its `data`, or a `data_json` attribute holding JSON text)
    arrives in JS as a ConvexError with that data.

    Answered inside the worker and never seen here: `1.0/queryStream` (the query reaches
    the handler with the first `1.0/queryStreamNext` of its id, as
    `{"queryId", "query", "version"}`; later ones carry only `{"queryId"}`),
    `1.0/db/normalizeId`, `1.0/getSnapshotTs`, `1.0/componentArgument`. `1.0/queryCleanup`
    `{"queryId"}` arrives without waiting for an answer, before the call's result.
    """

    async def async_syscall(self, op: str, args: Any) -> Any: ...


async def deferred_write(handler: SyscallHandler, op: str, args: Any) -> None:
    """A write the worker resolved without waiting for it (its result is never read):
    through the handler's own `deferred_write` when it has one (which skips building the
    result), else as any syscall. Raises as the write fails."""
    write = getattr(handler, "deferred_write", None)
    if write is not None:
        await write(op, args)
    else:
        await handler.async_syscall(op, args)


@dataclass
class Invocation:
    """A call of one exported function of one module set."""

    version: str
    udf_type: UdfKind
    path: str  # canonical "dir/module.js:export" ("module:export" is accepted too)
    args_json: str  # JSON text of the one-element array [convexJson(args)]
    env: dict[str, str] = field(default_factory=dict)
    seed: int = 0  # Math.random / crypto.getRandomValues seed (queries, mutations)
    now_ms: float = 0.0  # Date.now() for queries and mutations
    table_numbers: dict[str, int] = field(default_factory=dict)  # for ctx.db.normalizeId
    request_id: str = ""
    timeout_s: float | None = None  # None: Convex's default for the udf type
    snapshot_ts: int | None = None  # what ctx.meta.getSnapshotTs() returns (ns), if known
    # Mutations: `patch`/`replace`/`delete` resolve in the runtime at once and reach the
    # handler with the next batch (see `InvocationResult.deferred_write_failed`).
    defer_writes: bool = False
    # The call's transaction holds admission locks of hot documents (contention.py): the
    # mutations queued behind those locks wait for it, so it goes before other calls.
    urgent: bool = False
    # A mutation: `[op, args, result]` of the reads its arguments predict or its last
    # attempt began with, already made in this attempt's transaction. The runtime answers the function's first
    # syscalls from these while they are exactly these, in order (see
    # `TransactionSyscalls.answer_ahead`).
    read_ahead: list[list[Any]] | None = None

    @property
    def module_path(self) -> str:
        """ "messages.js" of "messages.js:send"."""
        return _split_path(self.path)[0]

    @property
    def export_name(self) -> str:
        """ "send" of "messages.js:send" ("default" when the path names no export)."""
        return _split_path(self.path)[1]

    @property
    def limit_s(self) -> float:
        """The time limit that applies to this call."""
        if self.timeout_s is not None:
            return self.timeout_s
        return DEFAULT_TIMEOUTS_S[self.udf_type]


def _split_path(path: str) -> tuple[str, str]:
    module, sep, name = path.rpartition(":")
    if not sep:
        module, name = path, "default"
    if not module.endswith(".js"):
        module += ".js"
    return module, name


class LogLine(TypedDict):
    """One console line: `messages` are the rendered arguments (`'hello'`, `{\\n  a: 1\\n}`)."""

    level: Literal["LOG", "INFO", "WARN", "ERROR", "DEBUG"]
    messages: list[str]
    timestamp: float
    isTruncated: bool


@dataclass
class InvocationResult:
    """How a call ended. `error_message` is what Convex reports ("Uncaught Error: boom\\n
    at handler (../convex/m.ts:4:9)"); `error_data_json` is set for ConvexErrors only."""

    ok: bool
    value_json: str | None = None
    error_message: str | None = None
    error_data_json: str | None = None
    log_lines: list[LogLine] = field(default_factory=list)
    timed_out: bool = False
    user_time_ms: float = 0.0
    # The failure came from the system, not from the function: a crashed or killed worker,
    # an overload. Like a time-out, it says nothing about the function's result.
    system_error: bool = False
    # A deferred write failed: the attempt saw success where Convex would have thrown, so
    # its outcome is void and the mutation must run again without deferred writes.
    deferred_write_failed: bool = False
    # How many of `Invocation.read_ahead` the function used (a prefix of them).
    read_ahead_used: int = 0


class Runtime(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def load(self, version: str, modules: list[RuntimeModule]) -> None: ...
    async def analyze(self, version: str) -> Any: ...
    async def invoke(self, call: Invocation, syscalls: SyscallHandler) -> InvocationResult: ...


class UnavailableRuntime:
    """Stands in for a runtime that could not start (e.g. no Node.js): every use says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _refuse(self) -> BadRequest:
        return BadRequest(self.reason, code="RuntimeUnavailable")

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def load(self, version: str, modules: list[RuntimeModule]) -> None:
        raise self._refuse()

    async def analyze(self, version: str) -> Any:
        raise self._refuse()

    async def invoke(self, call: Invocation, syscalls: SyscallHandler) -> InvocationResult:
        raise self._refuse()
