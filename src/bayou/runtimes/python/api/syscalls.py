"""How the user API reaches the backend: syscalls with Convex's names and JSON.

Every operation (`ctx.db.get`, a query's batches, `ctx.run_mutation` …) is written once as
an *op*: a generator that yields `(name, args)` syscalls, receives their JSON results and
returns the operation's value. `run` drives an op with blocking syscalls (for `def`
handlers), `arun` with awaited ones (for `async def` handlers, whose concurrent syscalls the
worker batches into one round trip). The worker supplies the `Channel` of each call.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

from bayou.errors import ConvexError
from bayou.values.json import loads as value_loads

T = TypeVar("T")

Op = Generator[tuple[str, dict[str, Any]], Any, T]
"""An operation: yields syscalls `(op, args)`, is sent their results, returns its value."""

SYSCALL_VERSION: Final = "1.48.0"
"""The `version` field of syscalls: the npm `convex` version whose shapes Bayou speaks."""


class BackendError(RuntimeError):
    """The backend refused an operation: a missing index, an invalid id, a write to a
    deleted document, a nested call that failed … The message says which and why."""


class Channel(Protocol):
    """The worker's side of one call: its syscalls and what the API needs to know."""

    def call(self, op: str, args: dict[str, Any]) -> Any:
        """Run one syscall and wait for its JSON result (raises `SyscallFailed`)."""
        ...

    async def acall(self, op: str, args: dict[str, Any]) -> Any:
        """Run one syscall from async code (batched with concurrent ones)."""
        ...

    def notify(self, op: str, args: dict[str, Any]) -> None:
        """Send a syscall that has no answer (`1.0/queryCleanup`)."""
        ...


class SyscallFailed(Exception):
    """A syscall's error as the host reported it: a message, and ConvexError data (JSON
    text) when the failure carries some (a nested call that raised a ConvexError)."""

    def __init__(self, message: str, data_json: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data_json = data_json

    def to_user_error(self) -> Exception:
        """The exception user code sees: a `ConvexError` with the data, or `BackendError`."""
        if self.data_json is not None:
            return ConvexError(value_loads(self.data_json), message=self.message)
        return BackendError(self.message)


@dataclass
class CallInfo:
    """What the API of one call needs: its channel and kind, for the syscalls' JSON."""

    channel: Channel
    udf_type: str  # "query" | "mutation" | "action"
    request_id: str = ""
    table_numbers: dict[str, int] = field(default_factory=dict)
    now_ms: float | None = None  # frozen clock (queries, mutations); None: real time
    _next_query_id: int = 0

    def new_query_id(self) -> int:
        """A fresh id for a query stream of this call."""
        self._next_query_id += 1
        return self._next_query_id

    @property
    def syscall_request_id(self) -> str:
        """The `requestId` of syscalls: the real one in actions, "" elsewhere (as the npm
        package sends it)."""
        return self.request_id if self.udf_type == "action" else ""


def run(info: CallInfo, op: Op[T]) -> T:
    """Drive `op` with blocking syscalls; a failed syscall raises inside the op."""
    channel = info.channel
    try:
        request = next(op)
        while True:
            try:
                result = channel.call(*request)
            except SyscallFailed as failed:
                request = op.throw(failed.to_user_error())
            else:
                request = op.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def arun(info: CallInfo, op: Op[T]) -> T:
    """Drive `op` with awaited syscalls."""
    channel = info.channel
    try:
        request = next(op)
        while True:
            try:
                result = await channel.acall(*request)
            except SyscallFailed as failed:
                request = op.throw(failed.to_user_error())
            else:
                request = op.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def single(op: str, args: dict[str, Any]) -> Op[Any]:
    """The op of one syscall whose raw JSON result is the value."""
    return (yield (op, args))
