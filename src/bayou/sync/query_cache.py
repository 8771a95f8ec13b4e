"""The query cache shared by all sync sessions, and the subscriptions behind it.

A query is identified by `QueryKey`: function, arguments (canonical Convex JSON), journal,
whether the caller may see internal functions, and the code version (bumped by deploys and
environment changes). One execution produces a `CachedQuery`: its encoded outcome, the
timestamp it ran at, and its read set. The cache keeps executions under the key alone
when the function never looked at `ctx.auth` (shared by everyone) and under the key plus
the caller's identity when it did (db-semantics.md §4.3).

Every cached execution's read set sits in one `SubscriptionIndex`; after each commit the
index says which executions the written keys fall into, in O(keys × log subscriptions).
Those become invalid from that commit's timestamp on and leave the cache. Their
subscribers (sessions) are told at once that the query is stale, and the cache re-runs it
right away at the new timestamp, once for all of them; the sessions are woken when that
run is done, so ten thousand sessions on one query find its new result ready instead of
ten thousand waiters piling onto one execution. An execution is valid for a timestamp `T`
when it ran at or before `T` and nothing invalidated it up to `T` (or, for one that ran
after `T`, when the write log shows no overlapping write in between).

Identical requests at one timestamp wait for one execution (single-flight).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

from bayou.database.database import Database
from bayou.database.read_set import ReadSet
from bayou.database.subscriptions import SubscriptionIndex
from bayou.database.write_log import LogEntry
from bayou.runner.function_runner import CallRequest, CallResult, FunctionRunner
from bayou.sync.outcome import QueryOutcome

log = logging.getLogger("bayou.sync")

# Re-runs of a query whose execution failed for the system's reasons: after 0.5 s, then
# twice as long each time it fails again, at most every 30 s.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


@dataclass(frozen=True, slots=True)
class QueryKey:
    """What makes two query requests the same computation (identity aside)."""

    path: str  # canonical `dir/mod.js:fn`
    args_json: str  # canonical Convex JSON of the arguments object
    journal: str | None
    privileged: bool  # may call internal/system functions (admins)
    code_version: int


class Subscriber(Protocol):
    """A session using cached executions."""

    def on_stale(self, entry: CachedQuery) -> None:
        """`entry` no longer holds: mark the queries it answers for a re-run."""

    def wake(self) -> None:
        """Run an update now (the new executions are ready, or failed)."""


@dataclass(eq=False, slots=True)
class CachedQuery:
    """One execution of a query; immutable apart from its validity and subscribers."""

    id: int
    key: QueryKey
    identity_key: str | None  # None: the result does not depend on who asked
    ts: int
    outcome: QueryOutcome
    read_set: ReadSet | None  # None: not reactive (a failure before any read)
    request: CallRequest  # how to run it again
    invalid_from: int | None = None  # first commit ts that invalidated it
    cached: bool = False
    registered: bool = False
    subscribers: set[Subscriber] = field(default_factory=set)

    def valid_at(self, ts: int) -> bool:
        return self.ts <= ts and (self.invalid_from is None or ts < self.invalid_from)

    def shareable_with(self, identity_key: str) -> bool:
        return self.identity_key is None or self.identity_key == identity_key


_SlotKey = tuple[QueryKey, str | None]
_FlightKey = tuple[QueryKey, int, str | None]


class QueryCache:
    """Shared executions, single-flight, and invalidation by commits; see the module doc."""

    def __init__(
        self,
        db: Database,
        runner: FunctionRunner,
        *,
        redact: bool = False,
        idle_entries: int = 2000,
    ) -> None:
        self.db = db
        self.runner = runner
        self.redact = redact
        self.idle_entries = idle_entries
        self.index = SubscriptionIndex()
        self._ids = itertools.count(1)
        self._by_id: dict[int, CachedQuery] = {}
        self._slots: dict[_SlotKey, CachedQuery] = {}
        self._idle: OrderedDict[int, CachedQuery] = OrderedDict()
        self._flights: dict[_FlightKey, asyncio.Future[CachedQuery]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.executions = 0  # how many times a query actually ran (for tests and stats)

    # -- lookups --------------------------------------------------------------------------

    def lookup(self, key: QueryKey, identity_key: str, ts: int) -> CachedQuery | None:
        """A cached execution valid at `ts` for this caller, without running anything."""
        for slot in ((key, None), (key, identity_key)):
            entry = self._slots.get(slot)
            if entry is not None and self._usable(entry, ts):
                return entry
        return None

    def _usable(self, entry: CachedQuery, ts: int) -> bool:
        if entry.valid_at(ts):
            return True
        if entry.ts > ts and entry.invalid_from is None and entry.read_set is not None:
            # It ran later than asked; the same result holds at `ts` if nothing it read
            # was written in between.
            return self.db.write_log.is_valid(entry.read_set, ts, entry.ts)
        return False

    async def get(self, key: QueryKey, identity_key: str, request: CallRequest) -> CachedQuery:
        """The execution of `key` valid at `request.ts`, running it once for all waiters."""
        ts = request.ts
        assert ts is not None
        hit = self.lookup(key, identity_key, ts)
        if hit is not None:
            return hit
        shared = self._flights.get((key, ts, None))
        if shared is not None:
            entry = await asyncio.shield(shared)
            if entry.shareable_with(identity_key):
                return entry
            own = self._flights.get((key, ts, identity_key))
            if own is not None:
                return await asyncio.shield(own)
            return await asyncio.shield(self._start((key, ts, identity_key), identity_key, request))
        return await asyncio.shield(self._start((key, ts, None), identity_key, request))

    def _start(
        self, flight: _FlightKey, identity_key: str, request: CallRequest, failures: int = 0
    ) -> asyncio.Future[CachedQuery]:
        future: asyncio.Future[CachedQuery] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._flights[flight] = future
        # A task of its own: a waiter that goes away must not cancel everyone's execution.
        task = asyncio.ensure_future(self._execute(flight, identity_key, request, future, failures))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return future

    async def _execute(
        self,
        flight: _FlightKey,
        identity_key: str,
        request: CallRequest,
        future: asyncio.Future[CachedQuery],
        failures: int = 0,
    ) -> None:
        try:
            self.executions += 1
            result = await self.runner.call(request)
            entry = self._admit(flight[0], identity_key, request, result, failures)
        except BaseException as e:
            if not future.done():
                future.set_exception(e)
            if not isinstance(e, Exception):
                raise
        else:
            future.set_result(entry)
        finally:
            if self._flights.get(flight) is future:
                del self._flights[flight]

    def _admit(
        self,
        key: QueryKey,
        identity_key: str,
        request: CallRequest,
        result: CallResult,
        failures: int = 0,
    ) -> CachedQuery:
        entry = CachedQuery(
            id=next(self._ids),
            key=key,
            identity_key=identity_key if result.observed_identity else None,
            ts=result.ts if result.ts is not None else request.ts or 0,
            outcome=QueryOutcome.from_result(result, redact=self.redact),
            read_set=result.read_set,
            request=request,
        )
        if result.transient:
            self._hold_failure(entry, failures)
            return entry
        if entry.read_set is None:
            return entry  # nothing to subscribe to; the session keeps it until code changes
        self._register(entry)
        if not entry.registered:
            return entry
        slot = (key, entry.identity_key)
        previous = self._slots.get(slot)
        if previous is not None:
            self._uncache(previous)
        self._slots[slot] = entry
        entry.cached = True
        self._park(entry)
        return entry

    # -- subscriptions --------------------------------------------------------------------

    def subscribe(self, entry: CachedQuery, subscriber: Subscriber) -> None:
        entry.subscribers.add(subscriber)
        self._idle.pop(entry.id, None)
        if not entry.registered and entry.invalid_from is None and entry.read_set is not None:
            # It left the index before its waiters subscribed (another execution of the same
            # query, admitted after it, took its slot; or the idle LRU evicted it): watch it
            # again, or mark it stale if a commit wrote into it meanwhile.
            self._register(entry)

    def _register(self, entry: CachedQuery) -> None:
        assert entry.read_set is not None
        conflict = self.db.write_log.first_conflict(entry.read_set, entry.ts, self.db.latest_ts)
        if conflict is True:
            entry.invalid_from = entry.ts + 1  # the log no longer says: valid only where it ran
        elif isinstance(conflict, LogEntry):
            entry.invalid_from = conflict.ts
        else:
            self._by_id[entry.id] = entry
            self.index.add(entry.id, entry.read_set)
            entry.registered = True

    def unsubscribe(self, entry: CachedQuery, subscriber: Subscriber) -> None:
        entry.subscribers.discard(subscriber)
        if not entry.subscribers:
            if entry.cached:
                self._park(entry)
            else:
                self._unregister(entry)

    def _park(self, entry: CachedQuery) -> None:
        """Keep an unsubscribed, still valid execution for a while (LRU)."""
        if entry.subscribers:
            return
        self._idle[entry.id] = entry
        self._idle.move_to_end(entry.id)
        while len(self._idle) > self.idle_entries:
            _, oldest = self._idle.popitem(last=False)
            self._uncache(oldest)

    def _uncache(self, entry: CachedQuery) -> None:
        if entry.cached:
            slot = (entry.key, entry.identity_key)
            if self._slots.get(slot) is entry:
                del self._slots[slot]
            entry.cached = False
        self._idle.pop(entry.id, None)
        if not entry.subscribers:
            self._unregister(entry)

    def _unregister(self, entry: CachedQuery) -> None:
        if entry.registered:
            self.index.remove(entry.id)
            self._by_id.pop(entry.id, None)
            entry.registered = False

    # -- invalidation ---------------------------------------------------------------------

    def on_commit(self, entries: list[LogEntry]) -> None:
        """Commit listener: invalidate the executions whose read sets the commits wrote into."""
        hit: list[CachedQuery] = []
        for log_entry in entries:
            for entry_id in self.index.invalidated_by(log_entry.keys):
                entry = self._by_id.get(entry_id)  # type: ignore[call-overload]
                if entry is None or entry.invalid_from is not None:
                    continue
                entry.invalid_from = log_entry.ts
                hit.append(entry)
        latest = self.db.latest_ts
        for entry in hit:
            subscribers = list(entry.subscribers)
            self._uncache(entry)
            self._unregister(entry)
            if not subscribers:
                continue
            for subscriber in subscribers:
                _safely(subscriber.on_stale, entry)
            self._refresh(entry, latest, subscribers)

    def _refresh(
        self, entry: CachedQuery, ts: int, subscribers: list[Subscriber], failures: int = 0
    ) -> None:
        """Re-run an invalidated execution at `ts` now; wake its subscribers when done."""
        identity_key = entry.request.identity.cache_key
        flight = (entry.key, ts, None if entry.identity_key is None else identity_key)
        future = self._flights.get(flight)
        if future is None:
            request = dataclasses.replace(entry.request, ts=ts)
            future = self._start(flight, identity_key, request, failures)

        def wake(_: asyncio.Future[CachedQuery]) -> None:
            for subscriber in subscribers:
                _safely(subscriber.wake)

        future.add_done_callback(wake)

    # An execution that failed for the system's reasons (a time-out, a crashed worker) is
    # not the query's answer: it must never stay cached, or every client would keep
    # getting it while nothing it "read" changes. It answers its waiters and whoever asks
    # in the next moments, then it is run again for its subscribers, after a back-off that
    # grows while the failures last.

    def _hold_failure(self, entry: CachedQuery, failures: int) -> None:
        slot = (entry.key, entry.identity_key)
        previous = self._slots.get(slot)
        if previous is not None:
            self._uncache(previous)
        self._slots[slot] = entry
        entry.cached = True
        delay = min(RETRY_MAX_S, RETRY_FIRST_S * 2**failures)
        asyncio.get_running_loop().call_later(delay, self._retry, entry, failures + 1)

    def _retry(self, entry: CachedQuery, failures: int) -> None:
        if not entry.cached or entry.invalid_from is not None:
            return  # replaced by a newer execution, or the code changed meanwhile
        entry.invalid_from = entry.ts + 1
        subscribers = list(entry.subscribers)
        self._uncache(entry)
        if not subscribers:
            return
        for subscriber in subscribers:
            _safely(subscriber.on_stale, entry)
        self._refresh(entry, max(self.db.latest_ts, entry.ts), subscribers, failures)

    def clear(self) -> None:
        """Forget every execution (the code changed); subscribers re-run on their own."""
        for entry in list(self._by_id.values()):
            entry.invalid_from = entry.invalid_from or (self.db.latest_ts + 1)
            self._uncache(entry)
            self._unregister(entry)
        for entry in self._slots.values():
            entry.cached = False
        self._slots.clear()
        self._idle.clear()

    def stats(self) -> dict[str, Any]:
        return {
            "cachedQueries": len(self._slots),
            "subscribedQueries": len(self.index),
            "idleQueries": len(self._idle),
            "inFlight": len(self._flights),
            "executions": self.executions,
        }


def _safely(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # one broken session must not stop the others
        log.exception("a sync session failed to take an invalidation")


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a single-flight's exception as seen (every waiter re-raises it anyway)."""
    if not future.cancelled():
        future.exception()
