"""The shared query cache under interleavings the end-to-end tests hit only by chance.

A controllable runner decides when each execution finishes, so races between executions of
one query (a session's own run and the cache's re-run after a commit) are played exactly.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bayou.database.read_set import ReadSet
from bayou.database.write_log import LogEntry, WriteLog
from bayou.protocol.function_path import FunctionPath
from bayou.runner.function_runner import CallRequest, CallResult
from bayou.sync.query_cache import CachedQuery, QueryCache, QueryKey

INDEX = b"messages.by_channel"
KEY = QueryKey("messages.js:latest", '{"channel":"c1"}', None, False, 1)


@dataclass
class FakeDb:
    write_log: WriteLog = field(default_factory=WriteLog)
    latest_ts: int = 10

    def commit(self, ts: int, key: bytes) -> LogEntry:
        entry = LogEntry.create(ts, ((INDEX, key),), ("messages",))
        self.write_log.append(entry)
        self.latest_ts = ts
        return entry


class GatedRunner:
    """Runs a query "at" its request's ts and finishes it when the test says so."""

    def __init__(self) -> None:
        self.gates: dict[int, asyncio.Event] = {}

    def gate(self, ts: int) -> asyncio.Event:
        return self.gates.setdefault(ts, asyncio.Event())

    async def call(self, request: CallRequest) -> CallResult:
        assert request.ts is not None
        await self.gate(request.ts).wait()
        read_set = ReadSet()
        read_set.add(INDEX, b"c1", b"c2")  # the whole channel
        return CallResult(ok=True, value=float(request.ts), ts=request.ts, read_set=read_set)


class Recorder:
    def __init__(self) -> None:
        self.stale: list[CachedQuery] = []

    def on_stale(self, entry: CachedQuery) -> None:
        self.stale.append(entry)

    def wake(self) -> None:
        pass


def request(ts: int) -> CallRequest:
    return CallRequest(FunctionPath.parse("messages:latest"), {"channel": "c1"}, "query", ts=ts)


async def test_an_execution_replaced_before_its_waiter_subscribes_is_still_invalidated() -> None:
    db = FakeDb()
    runner = GatedRunner()
    cache = QueryCache(db, runner)  # type: ignore[arg-type]
    db.latest_ts = 20
    # A session asks at ts 20 while the cache still re-runs the query at ts 10 (started by
    # an earlier commit); the session's run finishes first.
    late = asyncio.ensure_future(cache.get(KEY, "", request(10)))
    own = asyncio.ensure_future(cache.get(KEY, "", request(20)))
    await asyncio.sleep(0)
    runner.gate(20).set()
    entry = await own
    # Before the session resumes and subscribes, the older run completes and takes the
    # slot, pushing the session's execution out of the cache.
    runner.gate(10).set()
    await late
    assert not entry.registered  # the interleaving happened: nobody watches it now
    session = Recorder()
    cache.subscribe(entry, session)
    # A later commit into the channel must reach the session.
    cache.on_commit([db.commit(30, b"c1\x00new")])
    assert session.stale == [entry]
    assert entry.invalid_from == 30


async def test_an_execution_that_missed_a_write_while_unwatched_is_marked_stale() -> None:
    db = FakeDb()
    runner = GatedRunner()
    cache = QueryCache(db, runner, idle_entries=0)  # type: ignore[arg-type]
    runner.gate(10).set()
    entry = await cache.get(KEY, "", request(10))  # parked, then evicted at once (LRU of 0)
    assert not entry.registered
    db.commit(15, b"c1\x00new")  # nobody watched it: no invalidation could be delivered
    cache.subscribe(entry, Recorder())
    assert entry.invalid_from == 15  # the subscriber sees it is stale (QuerySet.attach)
