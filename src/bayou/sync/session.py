"""One sync session: a WebSocket speaking the sync protocol (wire-protocol.md §2.5).

The reader (`serve`, the connection's own task) parses client messages in order:
`Connect`, `ModifyQuerySet` and `Authenticate` update the wanted state and wake the
updater; `Mutation`s are queued (they run one at a time, in order, exactly once per
`(sessionId, requestId)`); `Action`s run concurrently; `Event`s are ignored.

The updater builds transitions: it takes every pending change at once, picks ONE timestamp
`T` (the latest commit), re-runs the new, invalidated and (after an identity change) all
queries at `T` through the shared cache, and sends one `Transition` from the version the
client has to the one it asked for, with only the results that changed. The updater and
the mutation runner are tasks started on demand that end when their work is done, so an
idle session holds no task but its reader; the outbox sends in order and pings when idle.

A protocol violation ends the session with a `FatalError`; an authentication failure,
or a user token reaching its `exp`, with an `AuthError`; a bug with close code 1011 (the client reconnects). Nothing a
session does touches another session's state.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bayou.eager import start_eagerly
from bayou.errors import BayouError
from bayou.protocol import sync_messages as msg
from bayou.protocol.function_path import FunctionPath
from bayou.protocol.sync_messages import ProtocolError, StateVersion
from bayou.runner.function_runner import CallRequest, CallResult
from bayou.runner.identity import ANONYMOUS, NO_ORIGIN, Identity, RequestOrigin
from bayou.sync.outbox import Outbox, Transport
from bayou.sync.query_cache import CachedQuery
from bayou.sync.query_set import QuerySet, SessionQuery, parse_args
from bayou.values import json as vjson

if TYPE_CHECKING:
    from bayou.sync.manager import SyncManager

log = logging.getLogger("bayou.sync")

TOKEN_EXPIRED = "Convex token identity expired"  # Convex's AuthError text (TokenExpired)

Authenticator = Callable[[msg.Authenticate], Awaitable[Identity]]


class SessionEnded(Exception):
    """Raised inside the reader to stop it; the outbox is already closing."""


class SyncSession:
    """The server side of one sync WebSocket; `await serve()` runs it to the end."""

    def __init__(
        self,
        host: SyncManager,
        transport: Transport,
        authenticate: Authenticator,
        *,
        client: str = "",
        origin: RequestOrigin = NO_ORIGIN,
    ) -> None:
        self.host = host
        self.client = client
        self.origin = origin
        self.limits = host.limits
        self.outbox = Outbox(transport, heartbeat_s=host.limits.heartbeat_s)
        self.transport = transport
        self.authenticate = authenticate
        self.queries = QuerySet(host.cache, self)
        self.session_id: str | None = None
        self.connection_count = 0
        self.clock_skew: int | None = None
        # What the client asked for, and what it was last sent (pending in between).
        self.identity = ANONYMOUS
        self.wanted_query_set = 0
        self.wanted_identity = 0
        self.current = StateVersion()
        self._pending: list[msg.AddQuery | msg.RemoveQuery] = []
        self._dirty: set[int] = set()
        self._rerun_all = False
        # Responses sent but not yet followed by a transition at or after this timestamp:
        # the npm client completes a mutation only on such a transition (pitfall 1).
        self._unreflected: int | None = None
        self._wanted = False  # an update was asked for since the updater last looked
        self._updater: asyncio.Task[None] | None = None
        self._updating_eagerly = False  # `wake` is running an update in its caller's turn
        self._mutations: deque[msg.FunctionRequest] | None = None  # made on first use
        self._mutator: asyncio.Task[None] | None = None
        self._actions: set[asyncio.Task[None]] = set()
        self._expiry: asyncio.TimerHandle | None = None  # ends an expired user identity
        self._ended = False

    # -- lifecycle --------------------------------------------------------------------------

    async def serve(self) -> None:
        """Read and answer messages until the client goes or the session is ended."""
        try:
            while not self._ended:
                frame = await self.transport.receive()
                if frame is None:
                    break
                try:
                    await self._handle(frame)
                except ProtocolError as e:
                    self.fatal(e.message)
                except SessionEnded:
                    pass
        except Exception:
            log.exception("sync session failed while reading")
            self.internal_error()
        finally:
            self._ended = True
            if self._expiry is not None:
                self._expiry.cancel()
            self.outbox.finish(code=1000)
            for task in (self._updater, self._mutator):
                if task is not None:
                    task.cancel()
            # Let the outbox send a FatalError/AuthError it already has, but not hang on it.
            try:
                async with asyncio.timeout(2):
                    await self.outbox.wait_closed()
            except (TimeoutError, asyncio.CancelledError):
                pass
            self.outbox.stop()
            self.queries.clear()
            self.host.forget(self)

    def _spawn(
        self, work: Callable[..., Coroutine[Any, Any, None]], *args: Any
    ) -> asyncio.Task[None]:
        # The coroutine is made inside the task: a task cancelled before its first step
        # then leaves no coroutine that was never awaited.
        return asyncio.ensure_future(self._guard(work, *args))

    async def _guard(self, work: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
        try:
            await work(*args)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sync session failed")
            self.internal_error()

    def fatal(self, error: str) -> None:
        """End the session with a FatalError: a protocol violation (the client gives up)."""
        log.info("sync session %s: FatalError: %s", self.session_id, error)
        self._end(msg.fatal_error(error))

    def internal_error(self) -> None:
        """End the session with close 1011: the client backs off and reconnects."""
        self._end(None, code=1011, reason="InternalServerError")

    def _end(self, final: str | None, *, code: int = 1000, reason: str = "") -> None:
        # The reader may be waiting for a frame: closing the transport wakes it.
        self._ended = True
        self.outbox.finish(final, code=code, reason=reason)

    def close(self, code: int = 1012, reason: str = "ServiceRestart") -> None:
        """Ask the client to reconnect (the server is going away)."""
        self._end(None, code=code, reason=reason)

    # -- incoming messages -------------------------------------------------------------------

    async def _handle(self, frame: str | bytes) -> None:
        if len(frame) > self.limits.max_message_bytes:
            raise ProtocolError(
                f"The message is {len(frame)} bytes; a message may have at most "
                f"{self.limits.max_message_bytes} bytes"
            )
        message = msg.parse_client_message(frame)
        if isinstance(message, msg.ModifyQuerySet):
            self._modify_query_set(message)
        elif isinstance(message, msg.FunctionRequest):
            self._request(message)
        elif isinstance(message, msg.Authenticate):
            await self._authenticate(message)
        elif isinstance(message, msg.Connect):
            self._connect(message)
        # Events are telemetry: nothing to do.

    def _connect(self, message: msg.Connect) -> None:
        if self.session_id is not None:
            raise ProtocolError("Connect was sent twice on one connection")
        self.session_id = message.session_id
        self.connection_count = message.connection_count
        if message.client_ts:
            self.clock_skew = message.client_ts - int(time.time() * 1000)
        latest = self.host.db.latest_ts
        if message.max_observed_ts is not None and message.max_observed_ts > latest:
            # Serving this client would show it older data than it has seen already.
            log.warning(
                "sync client saw timestamp %d, newer than this server's latest %d",
                message.max_observed_ts,
                latest,
            )
            self._end(None, code=1011, reason="InternalServerError: client is ahead of server")
            raise SessionEnded

    def _modify_query_set(self, message: msg.ModifyQuerySet) -> None:
        if self.session_id is None:
            # Every client sends Connect first; queries without a session are not served.
            raise ProtocolError("ModifyQuerySet was sent before Connect: send Connect first")
        if message.base_version != self.wanted_query_set:
            raise ProtocolError(
                f"Base version {message.base_version} passed up doesn't match the current "
                f"version {self.wanted_query_set}"
            )
        live = {q.query_id for q in self.queries}
        for p in self._pending:
            if isinstance(p, msg.AddQuery):
                live.add(p.query_id)
            else:
                live.discard(p.query_id)
        for m in message.modifications:
            if isinstance(m, msg.AddQuery):
                if m.query_id in live:
                    raise ProtocolError(f"Query {m.query_id} was added twice")
                live.add(m.query_id)
            else:
                if m.query_id not in live:
                    raise ProtocolError(f"Query {m.query_id} was removed but is not in the set")
                live.discard(m.query_id)
        if len(live) > self.limits.max_queries:
            raise ProtocolError(
                f"Too many queries: this connection would subscribe to {len(live)}, and a "
                f"connection may hold at most {self.limits.max_queries}"
            )
        if len(self._pending) + len(message.modifications) > 2 * self.limits.max_queries:
            # Changes pile up only while the client does not read its transitions.
            raise ProtocolError(
                f"More than {2 * self.limits.max_queries} query set changes are waiting: "
                "read the transitions the server sends before changing the set further"
            )
        self._pending.extend(message.modifications)
        self.wanted_query_set = message.new_version
        self._update_soon()

    async def _authenticate(self, message: msg.Authenticate) -> None:
        if message.base_version != self.wanted_identity:
            raise ProtocolError(
                f"Authenticate base version {message.base_version} doesn't match the current "
                f"identity version {self.wanted_identity}"
            )
        try:
            identity = await self.authenticate(message)
        except BayouError as e:
            self._end(msg.auth_error(e.message, self.current.identity, auth_update_attempted=True))
            raise SessionEnded from None
        self.identity = identity
        self.wanted_identity += 1
        self._watch_expiry(identity)
        self._update_soon()

    # -- token expiry -------------------------------------------------------------------------

    def _watch_expiry(self, identity: Identity) -> None:
        """A user token's identity ends at its `exp`: then the session ends with an
        AuthError (the npm client fetches a fresh token and reconnects with it, or goes on
        signed out), even if the client sends nothing meanwhile."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if identity.expires_at is not None:
            delay = max(0.0, identity.expires_at - time.time())
            self._expiry = asyncio.get_running_loop().call_later(
                delay, self._end_if_expired, identity
            )

    def _end_if_expired(self, identity: Identity) -> None:
        self._expiry = None
        if self.identity is not identity:
            return
        if not identity.expired(time.time()):  # the timer fired early: look again at exp
            self._watch_expiry(identity)
            return
        self._expire()

    def _expired(self) -> bool:
        """Whether the session's identity has expired; if so the session ends (Convex checks
        before every update, mutation and action)."""
        if not self.identity.expired(time.time()):
            return False
        self._expire()
        return True

    def _expire(self) -> None:
        log.info("sync session %s: the user token expired", self.session_id)
        self._end(msg.auth_error(TOKEN_EXPIRED, self.current.identity, auth_update_attempted=False))

    def _request(self, message: msg.FunctionRequest) -> None:
        if message.kind == "mutation":
            if self._mutations is None:
                self._mutations = deque()
            if len(self._mutations) >= self.limits.max_pending_mutations:
                self._refuse(
                    message,
                    f"Too many mutations are waiting on this connection (at most "
                    f"{self.limits.max_pending_mutations}): wait for some to finish.",
                )
                return
            self._mutations.append(message)
            if self._mutator is None or self._mutator.done():
                self._mutator = self._spawn(self._run_mutations)
            return
        if len(self._actions) >= self.limits.max_actions_in_flight:
            self._refuse(
                message,
                f"Too many actions are running on this connection (at most "
                f"{self.limits.max_actions_in_flight}): wait for some to finish.",
            )
            return
        task = self._spawn(self._run_action, message)
        self._actions.add(task)
        task.add_done_callback(self._actions.discard)

    def _refuse(self, message: msg.FunctionRequest, error: str) -> None:
        text = msg.error_string_json(f"[Request ID: {self._request_id(message)}] {error}")
        if message.kind == "mutation":
            self.outbox.push(
                msg.mutation_response(
                    message.request_id, success=False, result_json=text, ts=None, log_lines=[]
                )
            )
        else:
            self.outbox.push(
                msg.action_response(
                    message.request_id, success=False, result_json=text, log_lines=[]
                )
            )

    # -- mutations and actions ---------------------------------------------------------------

    def _request_id(self, message: msg.FunctionRequest) -> str:
        seed = f"{self.session_id or ''}|{message.request_id}"
        return hashlib.sha256(seed.encode()).hexdigest()[:16]

    async def _call(self, message: msg.FunctionRequest) -> CallResult:
        request_id = self._request_id(message)
        try:
            path = FunctionPath.parse(message.udf_path)
            args = parse_args(message.args)
        except BayouError as e:
            return CallResult(
                ok=False, udf_type=message.kind, error_message=e.message, request_id=request_id
            )
        session = None
        if message.kind == "mutation" and self.session_id is not None:
            session = (self.session_id, message.request_id)
        assert self.host.runner is not None
        return await self.host.runner.call(
            CallRequest(
                path,
                args,
                message.kind,
                self.identity,
                request_id,
                caller="SyncWorker",
                session=session,
                origin=self.origin,
                component=message.component_path or "",
            )
        )

    async def _run_mutations(self) -> None:
        """Run queued mutations one at a time, in order; ends when the queue is empty."""
        while self._mutations:
            if self._expired():
                return
            message = self._mutations.popleft()
            if not self._mutations:
                self._mutations = None  # an idle session keeps no queue
            # Shielded: a mutation that started commits or fails on its own, even if the
            # client leaves meanwhile (its resend after a reconnect then replays the result).
            result = await asyncio.shield(self._call(message))
            redact = self.host.redact
            logs = [] if redact else result.log_texts
            if result.ok:
                await self.outbox.send(
                    msg.mutation_response(
                        message.request_id,
                        success=True,
                        result_json=vjson.dumps(result.value).decode(),
                        ts=result.ts,
                        log_lines=logs,
                    )
                )
                self._needs_reflection(result.ts or 0)
            else:
                await self.outbox.send(
                    msg.mutation_response(
                        message.request_id,
                        success=False,
                        result_json=msg.error_string_json(result.client_error(redact=redact)),
                        ts=None,
                        log_lines=logs,
                        error_data_json=_error_data(result),
                    )
                )
                # The Rust client completes a mutation that threw a ConvexError only on
                # the next Transition, as after every mutation of Convex's own server.
                self._needs_reflection(self.host.db.latest_ts)

    async def _run_action(self, message: msg.FunctionRequest) -> None:
        if self._expired():
            return
        result = await self._call(message)
        redact = self.host.redact
        logs = [] if redact else result.log_texts
        if result.ok:
            await self.outbox.send(
                msg.action_response(
                    message.request_id,
                    success=True,
                    result_json=vjson.dumps(result.value).decode(),
                    log_lines=logs,
                )
            )
        else:
            await self.outbox.send(
                msg.action_response(
                    message.request_id,
                    success=False,
                    result_json=msg.error_string_json(result.client_error(redact=redact)),
                    log_lines=logs,
                    error_data_json=_error_data(result),
                )
            )
        self._needs_reflection(self.host.db.latest_ts)

    # -- transitions -------------------------------------------------------------------------

    def _needs_reflection(self, ts: int) -> None:
        self._unreflected = max(self._unreflected or 0, ts)
        self._update_soon()

    def on_stale(self, entry: CachedQuery) -> None:
        """A commit made an execution this session uses stale (the cache re-runs it)."""
        ids = self.queries.answered_by(entry)
        if ids:
            self._dirty |= ids

    def wake(self) -> None:
        """The cache has the new executions: update now, and make a task only if the update
        has to wait (a fan-out to ten thousand sessions then costs no task per session)."""
        if self._ended:
            return
        self._wanted = True
        if self._updating():
            return
        self._updating_eagerly = True
        try:
            self._updater = start_eagerly(
                self._guard(self._run_updates), contextvars.copy_context()
            )
        finally:
            self._updating_eagerly = False

    def _update_soon(self) -> None:
        """Make sure an update runs soon (starting the updater if it is not running)."""
        if self._ended:
            return
        self._wanted = True
        if not self._updating():
            self._updater = self._spawn(self._run_updates)

    def _updating(self) -> bool:
        return self._updating_eagerly or (self._updater is not None and not self._updater.done())

    def rerun_all(self) -> None:
        """The code or environment changed: every query runs again on the new code."""
        self._rerun_all = True
        self._update_soon()

    async def _run_updates(self) -> None:
        """Send transitions while updates are wanted; ends when there is nothing to do."""
        while self._wanted and not self._ended:
            await self.outbox.drained()
            self._wanted = False
            await self._update()

    async def _update(self) -> None:
        db = self.host.db
        # Take everything wanted so far; what arrives while queries run waits for the next.
        pending, self._pending = self._pending, []
        query_set_version, identity_version = self.wanted_query_set, self.wanted_identity
        identity = self.identity
        if self._expired():
            return
        rerun_all = self._rerun_all or identity_version != self.current.identity
        self._rerun_all = False
        if self._unreflected is not None and db.latest_ts < self._unreflected:
            await db.wait_for_ts(self._unreflected)
        ts = max(db.latest_ts, self.current.ts)

        removed: list[int] = []
        fresh: set[int] = set()
        for m in pending:
            if isinstance(m, msg.AddQuery):
                self.queries.add(SessionQuery.from_add(m))
                fresh.add(m.query_id)
            else:
                self.queries.remove(m.query_id)
                fresh.discard(m.query_id)
                removed.append(m.query_id)
        to_run = (
            set(self.queries.queries)
            if rerun_all
            else fresh | (self._dirty & set(self.queries.queries))
        )
        self._dirty -= to_run

        modifications = [msg.query_removed(query_id) for query_id in removed]
        for query, entry in await self._execute(to_run, identity, ts):
            outcome = query.static_outcome
            if entry is not None:
                self.queries.attach(query, entry, functools.partial(self._mark_dirty, query))
                outcome = entry.outcome
                if entry.outcome.journal is not None:
                    query.journal = entry.outcome.journal
            assert outcome is not None
            if not outcome.same_as(query.sent):
                modifications.append(msg.query_modification(query.query_id, outcome.body))
            query.sent = outcome

        end = StateVersion(query_set_version, identity_version, ts)
        versions_moved = (end.query_set, end.identity) != (
            self.current.query_set,
            self.current.identity,
        )
        if not (modifications or versions_moved or self._unreflected is not None):
            return
        text = msg.transition(
            self.current,
            end,
            modifications,
            client_clock_skew=self.clock_skew,
            server_ts=time.time_ns(),
        )
        self.current = end
        if self._unreflected is not None and ts >= self._unreflected:
            self._unreflected = None
        await self.outbox.send(text)

    def _mark_dirty(self, query: SessionQuery) -> None:
        self._dirty.add(query.query_id)
        self._update_soon()

    async def _execute(
        self, query_ids: set[int], identity: Identity, ts: int
    ) -> list[tuple[SessionQuery, CachedQuery | None]]:
        """Every query's execution valid at `ts`, from the cache or run once for everyone."""
        cache = self.host.cache
        privileged = identity.may_call_internal
        identity_key = identity.cache_key
        version = self.host.code_version
        done: list[tuple[SessionQuery, CachedQuery | None]] = []
        waiting: list[tuple[SessionQuery, Awaitable[CachedQuery]]] = []
        for query_id in sorted(query_ids):
            query = self.queries.get(query_id)
            if query is None:
                continue
            if query.static_outcome is not None:
                done.append((query, None))
                continue
            key = query.key(privileged=privileged, code_version=version)
            hit = cache.lookup(key, identity_key, ts)
            if hit is not None:
                done.append((query, hit))
            else:
                request = self._query_request(query, identity, ts)
                waiting.append((query, cache.get(key, identity_key, request)))
        if len(waiting) == 1:
            query, pending = waiting[0]
            done.append((query, await pending))
        elif waiting:
            entries = await asyncio.gather(*(p for _, p in waiting))
            done.extend((q, e) for (q, _), e in zip(waiting, entries, strict=True))
        return done

    def _query_request(self, query: SessionQuery, identity: Identity, ts: int) -> CallRequest:
        assert query.path is not None
        return CallRequest(
            query.path,
            query.args,
            "query",
            identity,
            ts=ts,
            journal=query.journal,
            caller="SyncWorker",
            component=query.component,
        )


def _error_data(result: CallResult) -> str | None:
    return vjson.dumps(result.error_data).decode() if result.has_error_data else None
