"""The sync layer of one backend: every session, the shared query cache, and the hooks
that keep them current.

    manager = SyncManager(db, runner)          # listens to the database's commits
    await manager.serve(transport, authenticate, client="npm-1.48.0")   # one WebSocket
    manager.code_changed()                     # after a deploy or an env-var change
    await manager.close()

A commit invalidates cached executions through their read sets (`QueryCache.on_commit`),
which tells exactly the sessions that use them. A deploy or an environment change bumps
the code version — cached results of the old code can no longer be found — and asks every
session to re-run its queries; sessions stay connected throughout.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bayou.database.database import Database
from bayou.runner.function_runner import FunctionRunner
from bayou.runner.identity import NO_ORIGIN, RequestOrigin
from bayou.sync.limits import SyncLimits
from bayou.sync.outbox import Transport
from bayou.sync.query_cache import QueryCache
from bayou.sync.session import Authenticator, SyncSession


class SyncManager:
    """Owns the sessions and the query cache of one backend."""

    def __init__(
        self,
        db: Database,
        runner: FunctionRunner,
        *,
        limits: SyncLimits | None = None,
        redact: bool = False,
    ) -> None:
        self.db = db
        self.runner = runner
        self.limits = limits or SyncLimits()
        self.redact = redact
        self.cache = QueryCache(
            db, runner, redact=redact, idle_entries=self.limits.idle_cache_entries
        )
        self.code_version = 0
        self.sessions: set[SyncSession] = set()
        self.sessions_served = 0
        db.add_commit_listener(self.cache.on_commit)

    def open(
        self,
        transport: Transport,
        authenticate: Authenticator,
        *,
        client: str = "",
        origin: RequestOrigin = NO_ORIGIN,
    ) -> SyncSession:
        """A new session over `transport` (not yet serving)."""
        session = SyncSession(self, transport, authenticate, client=client, origin=origin)
        self.sessions.add(session)
        self.sessions_served += 1
        return session

    async def serve(
        self,
        transport: Transport,
        authenticate: Authenticator,
        *,
        client: str = "",
        origin: RequestOrigin = NO_ORIGIN,
    ) -> None:
        """Run one session until its socket closes."""
        await self.open(transport, authenticate, client=client, origin=origin).serve()

    def forget(self, session: SyncSession) -> None:
        self.sessions.discard(session)

    def code_changed(self) -> None:
        """Deployed code or environment variables changed: re-run every subscription."""
        self.code_version += 1
        self.cache.clear()
        for session in list(self.sessions):
            session.rerun_all()

    async def close(self) -> None:
        """Ask every client to reconnect (the server is stopping) and stop listening."""
        for session in list(self.sessions):
            session.close()
        try:
            self.db.remove_commit_listener(self.cache.on_commit)
        except ValueError:
            pass
        await asyncio.sleep(0)

    def stats(self) -> dict[str, Any]:
        return {
            "sessions": len(self.sessions),
            "sessionsServed": self.sessions_served,
            "codeVersion": self.code_version,
            **self.cache.stats(),
        }
