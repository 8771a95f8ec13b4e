"""`ConvexTest`: a test's handle on its own backend, with a synchronous API.

    def test_send(convex: ConvexTest) -> None:
        ada = convex.mutation(api.users.create, {"name": "Ada", "email": "ada@example.com"})
        with pytest.raises(ConvexError) as e:
            convex.mutation(api.users.create, {"name": "Ada", "email": "ada@example.com"})
        assert e.value.data == {"code": "EMAIL_TAKEN", "email": "ada@example.com"}

Calls run the way `npx convex run` / `bayou run` runs them: any function, internal ones
too, with arguments validated and results returned as a client receives them (a Convex
number is a `float`, an int64 an `Int64`). `as_user(...)` acts as a signed-in user;
`as_client()` calls exactly as an HTTP client would (public functions only).

The backend's event loop runs in a thread of its own, so the API is the same in plain
and in `async def` tests.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from bayou.errors import BadRequest, ConvexError
from bayou.protocol.function_path import FunctionPath
from bayou.runner.function_runner import CallRequest, CallResult
from bayou.runner.http_actions import run_http_action
from bayou.runner.identity import ANONYMOUS, Identity
from bayou.runtimes.python.api.references import function_name
from bayou.testing.backend import TestBackend
from bayou.testing.fetch import FetchRequest, Responder
from bayou.values import json as vjson
from bayou.values import to_value

T = TypeVar("T")
Kind = Literal["query", "mutation", "action"]
_ADMIN = Identity(kind="admin")


class EventLoopThread:
    """An asyncio loop in a daemon thread; `run(coroutine)` blocks for its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="bayou-testing", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self.loop.close()


class FunctionError(Exception):
    """A function failed with an error that is not a `ConvexError`: an exception in its
    code, a validation error, a function that does not exist … `message` is the error as
    a client receives it (without the request id), e.g. `Uncaught ValueError: boom` and
    the user's frames, or `ArgumentValidationError: …`."""

    def __init__(self, function: str, message: str) -> None:
        self.function = function
        self.message = message.rstrip("\n")
        super().__init__(f"{function}: {self.message}")


@dataclass(frozen=True)
class LogLine:
    """One line a function logged (`print`, `logging`): its level (`LOG`, `INFO`,
    `WARN`, `ERROR`, `DEBUG`), its text, and the function (`messages:send`)."""

    function: str
    level: str
    message: str


@dataclass(frozen=True)
class HttpResponse:
    """What an HTTP action answered."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        import json

        return json.loads(self.body or b"null")

    @property
    def text(self) -> str:
        """The body as UTF-8 text."""
        return self.body.decode()


def _seconds(seconds: float, minutes: float, hours: float, days: float) -> float:
    return seconds + 60.0 * minutes + 3600.0 * hours + 86400.0 * days


class ConvexTest:
    """A test's backend: call functions, act as a user, read and seed tables, move the
    clock (which runs scheduled functions and crons), stub actions' HTTP, read logs."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        backend: TestBackend,
        loop: EventLoopThread,
        *,
        user: dict[str, Any] | None = None,
        client: bool = False,
    ) -> None:
        self.backend = backend
        self._loop = loop
        self._user = user
        self._client = client

    # -- who is calling ------------------------------------------------------------------

    def as_user(
        self,
        subject: str = "user",
        *,
        issuer: str = "https://convex.test",
        **claims: Any,
    ) -> ConvexTest:
        """This backend, called by a signed-in user: `ctx.auth.get_user_identity()` is
        `{"subject", "issuer", "tokenIdentifier": "<issuer>|<subject>", **claims}`
        (claims by their JSON names: `name`, `email`, `emailVerified`, custom ones)."""
        identity = {
            "subject": subject,
            "issuer": issuer,
            "tokenIdentifier": f"{issuer}|{subject}",
            **claims,
        }
        return ConvexTest(self.backend, self._loop, user=identity, client=self._client)

    def as_client(self) -> ConvexTest:
        """This backend, called as an HTTP client calls it: public functions only (an
        internal one is "Could not find public function"), as the current user if any."""
        return ConvexTest(self.backend, self._loop, user=self._user, client=True)

    def _identity(self, spec_internal: bool) -> Identity:
        if self._client or not spec_internal:
            if self._user is None:
                return _ADMIN if not self._client else ANONYMOUS
            return Identity(kind="user", user=self._user)
        return Identity(kind="admin", user=self._user)

    # -- calls ---------------------------------------------------------------------------

    def query(self, function: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run a query (`api.messages.list`, a `"messages:list"` path, or the decorated
        function itself) and return its result."""
        __tracebackhide__ = True
        return self._call("query", function, args)

    def mutation(self, function: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run a mutation in its own transaction and return its result."""
        __tracebackhide__ = True
        return self._call("mutation", function, args)

    def action(self, function: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run an action and return its result (its HTTP requests go to `stub_fetch`)."""
        __tracebackhide__ = True
        return self._call("action", function, args)

    def _call(self, kind: Kind, function: Any, args: Mapping[str, Any] | None) -> Any:
        __tracebackhide__ = True
        name = function_name(function, f"convex.{kind}()")
        path = FunctionPath.parse(name)
        result = self._loop.run(self._run(kind, path, args))
        return self._outcome(str(path), result)

    async def _run(self, kind: Kind, path: FunctionPath, args: Any) -> CallResult:
        backend = self.backend
        assert backend.runner is not None
        spec = backend.deployment.function(path)
        identity = self._identity(spec is not None and spec.visibility == "internal")
        value = to_value(dict(args) if args is not None else {})
        caller = "HttpApi" if self._client else "Test"
        return await backend.runner.call(CallRequest(path, value, kind, identity, caller=caller))

    def _outcome(self, function: str, result: CallResult) -> Any:
        __tracebackhide__ = True
        if result.ok:
            return result.value
        message = (result.error_message or "Uncaught Error").rstrip("\n")
        if result.has_error_data:
            raise ConvexError(result.error_data, message=message)
        raise FunctionError(function, self._hint(function, message))

    def _hint(self, function: str, message: str) -> str:
        if "Could not find" not in message or ":" not in function:
            return message
        module, _, name = function.rpartition(":")
        where = self.backend.app.undecorated(module + ".py", name)
        if where is None:
            return message
        return (
            f"{message}\n{where} defines `{name}` without a decorator: add @query, "
            "@mutation or @action (or their internal_ forms) to make it a Convex function."
        )

    def fetch(
        self,
        path: str,
        *,
        method: str = "GET",
        json: Any = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Call the app's HTTP actions (`http.py`) with one request, e.g.
        `convex.fetch("/webhook", method="POST", json={...})`."""
        import json as _json

        pairs = [(k.lower(), v) for k, v in (headers or {}).items()]
        if json is not None:
            body = _json.dumps(json)
            if not any(k == "content-type" for k, _ in pairs):
                pairs.append(("content-type", "application/json"))
        data = body.encode() if isinstance(body, str) else body
        url = self.backend.settings.http_origin + (path if path.startswith("/") else "/" + path)
        identity = ANONYMOUS if self._user is None else Identity(kind="user", user=self._user)
        assert self.backend.runner is not None
        answer = self._loop.run(
            run_http_action(
                self.backend.runner,
                method.upper(),
                url,
                path.split("?", 1)[0],
                pairs,
                data,
                identity=identity,
            )
        )
        return HttpResponse(answer.status, dict(answer.headers), bytes(answer.body))

    # -- the database --------------------------------------------------------------------

    def insert(self, table: str, document: Mapping[str, Any]) -> str:
        """Insert a document directly (checked against the schema); its id."""
        __tracebackhide__ = True
        return self.seed({table: [document]})[table][0]

    def seed(self, tables: Mapping[str, list[Mapping[str, Any]]]) -> dict[str, list[str]]:
        """Insert documents in one transaction (each checked against the schema, as a
        mutation's writes are); `{table: [ids]}` in the given order."""
        __tracebackhide__ = True

        async def write() -> dict[str, list[str]]:
            db = self.backend.db
            assert db is not None
            tx = db.begin()
            out: dict[str, list[str]] = {}
            for table, documents in tables.items():
                for i, document in enumerate(documents):
                    try:
                        out.setdefault(table, []).append(
                            await tx.insert(table, to_value(dict(document)))
                        )
                    except BadRequest as error:
                        raise SeedError(f"{table}[{i}]: {error.message}") from None
            await db.commit(tx)
            return out

        return self._loop.run(write())

    def table(self, name: str) -> list[dict[str, Any]]:
        """Every document of a table (system tables too: `_scheduled_functions`,
        `_storage`), in creation order."""

        async def read() -> list[dict[str, Any]]:
            db = self.backend.db
            assert db is not None
            tx = db.begin(read_only=True)
            system = name.startswith("_")
            if tx.table_for_read(name) is None:
                return []
            query = {
                "source": {"type": "FullTableScan", "tableName": name, "order": "asc"},
                "operators": [],
            }
            stream = tx.query(query, system=system)
            out = []
            while (doc := await stream.next()) is not None:
                out.append(doc)
            return out

        return self._loop.run(read())

    def get(self, id: str) -> dict[str, Any] | None:
        """The document with this id, or None."""

        async def read() -> dict[str, Any] | None:
            db = self.backend.db
            assert db is not None
            tx = db.begin(read_only=True)
            system = tx.table_of_id(id)
            is_system = system is not None and system.name.startswith("_")
            doc: dict[str, Any] | None = await tx.get(id, system=is_system)
            return doc

        return self._loop.run(read())

    # -- time, the scheduler and crons ---------------------------------------------------

    @property
    def now(self) -> datetime:
        """The test's clock (frozen unless `advance` moves it), an aware UTC datetime."""
        return self.backend.clock.now()

    def advance(
        self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0, days: float = 0.0
    ) -> int:
        """Move the clock forward and run what became due (scheduled functions and crons,
        and what they schedule that is due too); how many runs that started."""
        self.backend.clock.advance(_seconds(seconds, minutes, hours, days))
        return self.run_scheduled()

    def advance_to(self, when: datetime) -> int:
        """Move the clock to `when` and run what became due."""
        self.backend.clock.set(when)
        return self.run_scheduled()

    def run_scheduled(self) -> int:
        """Run every scheduled function and cron due now; how many runs that started."""
        return self._loop.run(self.backend.run_due())

    def finish_scheduled(self, *, limit: int = 100) -> int:
        """Run scheduled functions until none is pending, moving the clock to each one's
        time (crons due meanwhile run too); how many runs that started."""
        total = 0
        for _ in range(limit):
            total += self.run_scheduled()
            pending = [
                job for job in self.table("_scheduled_functions") if _state(job) == "pending"
            ]
            if not pending:
                return total
            due = min(float(job["scheduledTime"]) for job in pending)
            if due > self.backend.clock.ms:
                self.backend.clock.set(due)
        raise RuntimeError(f"scheduled functions still pending after {limit} rounds")

    # -- HTTP from actions ---------------------------------------------------------------

    def stub_fetch(
        self,
        url: str | Responder | None = None,
        *,
        method: str | None = None,
        status: int = 200,
        json: Any = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer actions' HTTP requests to `url` (exact, or a prefix ending in `*`) with
        `json=` or `body=`, `status=`, `headers=`; or pass `respond(request)` as the first
        argument. The newest matching stub answers; unmatched requests fail the action."""
        self.backend.stubs.add(
            url, method=method, status=status, json=json, body=body, headers=headers
        )

    @property
    def fetches(self) -> list[FetchRequest]:
        """The HTTP requests actions made so far, oldest first."""
        return list(self.backend.stubs.requests)

    # -- logs and environment ------------------------------------------------------------

    @property
    def logs(self) -> list[LogLine]:
        """What functions logged so far, in order (each call's lines together)."""
        return list(self._log_lines())

    def _log_lines(self) -> Iterator[LogLine]:
        for entry in self.backend.logs.since(self.backend.log_cursor):
            function = _display(str(entry.get("identifier", "")))
            for line in entry.get("logLines") or []:
                if isinstance(line, str):
                    level, _, text = line.partition("] ")
                    yield LogLine(function, level.lstrip("["), text)
                else:
                    text = " ".join(str(m) for m in line.get("messages") or [])
                    yield LogLine(function, str(line.get("level", "LOG")), text)

    def log_messages(self, level: str | None = None) -> list[str]:
        """The text of every log line (of one `level` only, if given)."""
        return [line.message for line in self.logs if level is None or line.level == level]

    def clear_logs(self) -> None:
        """Forget the logs so far."""
        entries = self.backend.logs.since(self.backend.log_cursor)
        if entries:
            self.backend.log_cursor = float(entries[-1]["_cursor"])

    def set_env(self, variables: Mapping[str, str | None]) -> None:
        """Set (or, with None, remove) deployment environment variables (`os.environ`
        inside functions)."""
        self._loop.run(self.backend.update_environment(list(variables.items())))


class SeedError(Exception):
    """A seeded document was refused (it does not match the schema, or names a table
    that is not there); the message says which document and why."""


def _state(job: dict[str, Any]) -> str:
    state = job.get("state")
    return str(state.get("kind")) if isinstance(state, dict) else ""


def _display(identifier: str) -> str:
    module, sep, name = identifier.partition(":")
    module = module.removesuffix(".js").removesuffix(".py")
    return f"{module}{sep}{name}" if sep else module


def encode(value: Any) -> Any:
    """A value as Convex-encoded JSON (what the official clients send and print)."""
    return vjson.to_json(value)
