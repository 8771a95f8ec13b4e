"""What a function call is: the request (who asks what), its result, the context its
syscalls see, and the errors that travel between nested calls — the data the runner and
every API surface (HTTP, sync, scheduler, HTTP actions) share."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import orjson

from bayou.database.read_set import ReadSet
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest, RateLimited
from bayou.model.deployment import Deployment, FunctionSpec
from bayou.protocol.function_path import FunctionPath
from bayou.runner.identity import ANONYMOUS, NO_ORIGIN, Identity, RequestOrigin
from bayou.runner.logs import log_line_text
from bayou.runtimes.base import InvocationResult
from bayou.values import json as vjson
from bayou.values.entropy import random_bits

if TYPE_CHECKING:
    from bayou.runner.function_runner import FunctionRunner

Kind = Literal["query", "mutation", "action"]
KIND_NAMES = {
    "query": "Query",
    "mutation": "Mutation",
    "action": "Action",
    "httpAction": "HttpAction",
}


@dataclass(frozen=True, slots=True)
class Limits:
    query_timeout_s: float = 1.0
    mutation_timeout_s: float = 1.0
    action_timeout_s: float = 600.0


@dataclass(slots=True)
class CallRequest:
    """What a client (HTTP, sync, CLI, scheduler, another function) asks to run."""

    path: FunctionPath
    args: Any  # decoded Convex value: the arguments object
    kind: Kind | None = None  # None: any kind (`/api/function`)
    identity: Identity = ANONYMOUS
    request_id: str = ""
    ts: int | None = None  # queries: read at this timestamp
    journal: str | None = None  # queries: the end cursor of a reactive page
    caller: str = "HttpApi"
    # Sync mutations: (session id, request id); runs once, replays return the stored result.
    session: tuple[str, int] | None = None
    origin: RequestOrigin = NO_ORIGIN  # the client's address and agent (request metadata)
    # The arguments' JSON as a calling function wrote it: a Python caller's ints stay ints.
    args_json: str | None = None
    scheduled_job: str | None = None  # the scheduler runs this `_scheduled_functions` job
    parent_job: str | None = None  # the job a calling action runs (request metadata, cancel)
    # A scheduled mutation's bookkeeping, inside its own transaction (exactly once).
    hooks: TransactionHooks | None = None
    component: str = ""  # the component whose function this is ("" is the app)


@dataclass(slots=True)
class CallResult:
    ok: bool
    udf_type: str = "query"
    value: Any = None
    value_json: str | None = None  # the value as the function wrote it (a Python int stays one)
    error_message: str | None = None  # without the request-id prefix
    error_data: Any = None
    has_error_data: bool = False
    log_lines: list[dict[str, Any]] = field(default_factory=list)
    ts: int | None = None  # queries: snapshot; mutations: commit timestamp
    read_set: ReadSet | None = None
    journal: str | None = None
    request_id: str = ""
    observed_identity: bool = False  # queries: did it read ctx.auth (caching by user)?
    # A failure caused by the system (time-out, crashed worker, overload), not by the
    # function: it says nothing about the result, so no cache may keep it.
    transient: bool = False
    replayed: bool = False  # a sync mutation answered from its stored result
    # The call never ran: every slot of its kind stayed taken (`runtimes/slots.py`); the
    # HTTP API answers with this error (429) rather than a function's failure.
    refused: RateLimited | None = None

    @property
    def log_texts(self) -> list[str]:
        return [log_line_text(line) for line in self.log_lines]

    def client_error(self, *, redact: bool = False) -> str:
        """The error message clients see: `[Request ID: …] Server Error` then details."""
        head = f"[Request ID: {self.request_id}] Server Error"
        if redact and not self.has_error_data:
            return head
        return f"{head}\n{self.error_message}"


JOB_NOT_PENDING = "The scheduled function was canceled (or already ran) before it started."


class TransactionHooks(Protocol):
    """What the scheduler does in a scheduled mutation's own transaction: `before` marks the
    job running (False: it is not due any more, so nothing runs), `after` records success —
    so the job's state commits with the mutation's writes, exactly once."""

    async def before(self, tx: Transaction) -> bool: ...

    async def after(self, tx: Transaction) -> None: ...


class JobNotPending(Exception):
    """A scheduled mutation's job was no longer due when its transaction began."""


class FunctionFailed(Exception):
    """Carries a failed result out of a transaction so that the transaction is discarded."""

    def __init__(self, result: InvocationResult) -> None:
        super().__init__(result.error_message)
        self.result = result


@dataclass(slots=True)
class CallContext:
    """What one running function knows about itself, for its syscalls."""

    runner: FunctionRunner
    deployment: Deployment
    spec: FunctionSpec | None
    identity: Identity
    request_id: str
    journal: str | None = None
    depth: int = 0
    # Shared with nested calls: what the whole call observed (for query caching).
    observed: dict[str, bool] = field(default_factory=dict)
    origin: RequestOrigin = NO_ORIGIN
    # Shared with nested calls: `log.audit` lines, written when the top-level call ends.
    audit: list[dict[str, Any]] = field(default_factory=list)
    args_json: str | None = None  # the arguments' JSON, when the caller's text is kept
    scheduled_job: str | None = None  # the `_scheduled_functions` job this call runs
    actions_scheduled: int = 0  # jobs an action scheduled so far (Convex's 1,000 limit)
    # Shared with nested calls in the same transaction: their log lines, which join the
    # top-level call's (in time order) when it ends.
    nested_logs: list[Any] = field(default_factory=list)
    component: str = ""  # the component the function belongs to; its tables' namespace
    # The seed of the function's `Math.random` / `random`: one per call, so that an OCC
    # retry of a mutation re-runs it with the same choices (a sharded counter picks the
    # same shard again, and takes only that shard's admission lock); nested calls derive
    # theirs from it, in the order the attempt makes them.
    seed: int = field(default_factory=lambda: random_bits(63))
    nested_calls: int = 0
    # A top-level mutation runs with deferred writes until one of them fails (then its
    # attempt is re-run without: see `InvocationResult.deferred_write_failed`).
    defer_writes: bool = True

    def child_seed(self) -> int:
        self.nested_calls += 1
        digest = hashlib.blake2b(f"{self.seed}:{self.nested_calls}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big") >> 1

    @property
    def code(self) -> Deployment:
        """The code of the function's component (the deployment itself for the app)."""
        code = self.deployment.code(self.component)
        if code is None:
            raise BadRequest(f"Component '{self.component}' not found", code="ComponentNotFound")
        return code


def error_text(message: str) -> str:
    """An error as Convex renders a JsError: its message and frames, each line ending in a
    newline (so a nested error's text ends with one, and a rethrow shows a blank line)."""
    return message if message.endswith("\n") else message + "\n"


class NestedCallFailed(Exception):
    """A nested call's failure, rethrown in its caller as Convex does: an `Error` whose
    message is the nested error's whole text ("Uncaught Error: boom\\n    at …\\n"), or a
    `ConvexError` with that message and the nested data when it threw one."""

    def __init__(self, message: str, data_json: str | None = None) -> None:
        super().__init__(message)
        self.message = error_text(message)
        self.data_json = data_json

    @classmethod
    def of_result(cls, result: CallResult) -> NestedCallFailed:
        data = vjson.dumps(result.error_data).decode() if result.has_error_data else None
        return cls(result.error_message or "Uncaught Error", data)


def raw_args_json(args: dict[str, Any]) -> str | None:
    """The `args` of a nested-call syscall as the caller wrote them (validated separately)."""
    raw = args.get("args")
    return orjson.dumps(raw).decode() if isinstance(raw, dict) else None


def reference_path(args: dict[str, Any]) -> FunctionPath:
    """The function a `{name|reference|functionHandle}` syscall argument names."""
    name = args.get("name") or args.get("reference") or args.get("functionHandle")
    if not isinstance(name, str):
        raise BadRequest("A function reference needs a `name`", code="InvalidSyscall")
    return FunctionPath.parse(name)
