"""A session's query set: the queries a client subscribed to, and which shared executions
currently answer them.

Queries are the client's (`queryId` → function, arguments, journal); executions are the
cache's. Several queries of one session may share an execution, so the set keeps both
directions: each query's current execution, and for each execution the queries it
answers — what an invalidation needs to mark queries dirty in O(1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bayou.errors import BayouError
from bayou.protocol.function_path import FunctionPath
from bayou.protocol.sync_messages import AddQuery
from bayou.sync.outcome import QueryOutcome
from bayou.sync.query_cache import CachedQuery, QueryCache, QueryKey, Subscriber
from bayou.values import json as vjson


@dataclass(eq=False, slots=True)
class SessionQuery:
    """One subscribed query of one client."""

    query_id: int
    udf_path: str
    path: FunctionPath | None
    args: dict | None
    args_json: str  # canonical Convex JSON (a str: orjson's bytes keep a 4 KiB buffer)
    journal: str | None
    # A request that cannot run (bad path, arguments or component) fails once, statically.
    static_outcome: QueryOutcome | None = None
    entry: CachedQuery | None = None
    sent: QueryOutcome | None = None  # what the client was last told
    component: str = ""  # the component whose query it is (admins: `componentPath`)
    _key: QueryKey | None = field(default=None, repr=False)  # the last `key()`

    @classmethod
    def from_add(cls, add: AddQuery) -> SessionQuery:
        try:
            path = FunctionPath.parse(add.udf_path)
            args = parse_args(add.args)
        except BayouError as e:
            failure = QueryOutcome.failure(
                f"[Request ID: 0000000000000000] Server Error\n{e.message}"
            )
            return cls(add.query_id, add.udf_path, None, None, "", add.journal, failure)
        return cls(
            add.query_id,
            add.udf_path,
            path,
            args,
            vjson.dumps(args).decode(),
            add.journal,
            component=add.component_path or "",
        )

    def key(self, *, privileged: bool, code_version: int) -> QueryKey:
        known = self._key
        if (
            known is not None
            and known.privileged == privileged
            and known.code_version == code_version
            and known.journal == self.journal
        ):
            return known  # a fan-out asks every session's query for its key again
        assert self.path is not None
        # A component's function is another computation than the app's of the same path.
        path = f"{self.component}\0{self.path.canonical}" if self.component else self.path.canonical
        self._key = QueryKey(path, self.args_json, self.journal, privileged, code_version)
        return self._key


def parse_args(raw: list) -> dict:
    """`args` of a sync request: `[ {…} ]` (or `[]`), Convex-encoded."""
    if len(raw) > 1:
        raise BayouError(
            f"Expected the arguments as an array of one object, got {len(raw)} elements",
            code="ArgumentValidationError",
        )
    value = vjson.from_json(raw[0]) if raw else {}
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise BayouError("Function arguments must be an object", code="ArgumentValidationError")
    return value


class QuerySet:
    """The live queries of one session and their subscriptions to cached executions."""

    def __init__(self, cache: QueryCache, owner: Subscriber) -> None:
        self.cache = cache
        self.owner = owner
        self.queries: dict[int, SessionQuery] = {}
        self._by_entry: dict[CachedQuery, set[int]] = {}

    def __len__(self) -> int:
        return len(self.queries)

    def __contains__(self, query_id: int) -> bool:
        return query_id in self.queries

    def __iter__(self) -> Iterator[SessionQuery]:
        return iter(self.queries.values())

    def get(self, query_id: int) -> SessionQuery | None:
        return self.queries.get(query_id)

    def add(self, query: SessionQuery) -> None:
        self.queries[query.query_id] = query

    def remove(self, query_id: int) -> None:
        query = self.queries.pop(query_id, None)
        if query is not None:
            self._detach(query)

    def attach(self, query: SessionQuery, entry: CachedQuery, on_stale: Callable[[], None]) -> None:
        """Make `entry` the execution answering `query`; `on_stale` if it is already invalid."""
        if query.entry is not entry:
            self._detach(query)
            query.entry = entry
            ids = self._by_entry.get(entry)
            if ids is None:
                ids = self._by_entry[entry] = set()
                self.cache.subscribe(entry, self.owner)
            ids.add(query.query_id)
        if entry.invalid_from is not None and entry.read_set is not None:
            on_stale()

    def _detach(self, query: SessionQuery) -> None:
        entry = query.entry
        if entry is None:
            return
        query.entry = None
        ids = self._by_entry.get(entry)
        if ids is None:
            return
        ids.discard(query.query_id)
        if not ids:
            del self._by_entry[entry]
            self.cache.unsubscribe(entry, self.owner)

    def answered_by(self, entry: CachedQuery) -> set[int]:
        """The queries an execution answers (empty once they moved on)."""
        return self._by_entry.get(entry, set())

    def clear(self) -> None:
        """Drop every subscription (the session ended)."""
        for entry in list(self._by_entry):
            self.cache.unsubscribe(entry, self.owner)
        self._by_entry.clear()
        self.queries.clear()
