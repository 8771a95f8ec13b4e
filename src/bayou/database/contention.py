"""Contention: ordering transactions that fight over the same hot documents.

Optimistic concurrency alone collapses under contention: when fifty mutations read the
same hot document at once, one commits and forty-nine retry, again all at once (Convex
falls to a few percent of its uncontended throughput). Bayou remembers which keys recently
caused conflicts ("hot" keys) and gives each one an admission lock: a mutation that is
about to read a hot key it does not hold restarts at once — before doing more work — and
its retry first takes the locks of every hot key it met, in a fixed order (so there is no
deadlock), then begins a fresh snapshot. Mutations over one hot document thus run one
after another, each seeing the previous one's commit, instead of failing together.

Locks only order work; correctness still comes from OCC validation in the committer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

Key = tuple[bytes, bytes]  # (index id, key)


class RestartTransaction(Exception):
    """Raised inside a transaction that touched a hot key it does not hold."""

    def __init__(self, key: Key) -> None:
        super().__init__("restart to take the admission lock of a hot document")
        self.key = key


class HotKeys:
    """Keys that recently caused conflicts, each with a FIFO admission lock."""

    def __init__(self, *, ttl_s: float = 1.0, max_keys: int = 4096) -> None:
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._expiry: dict[Key, float] = {}
        self._locks: dict[Key, asyncio.Lock] = {}

    def __len__(self) -> int:
        return len(self._expiry)

    def mark(self, key: Key) -> None:
        """`key` just caused a conflict: make (or keep) it hot."""
        now = time.monotonic()
        self._expiry[key] = now + self.ttl_s
        if len(self._expiry) > self.max_keys:
            self._expiry = {k: t for k, t in self._expiry.items() if t > now}

    def is_hot(self, key: Key) -> bool:
        expiry = self._expiry.get(key)
        if expiry is None:
            return False
        if expiry < time.monotonic():
            del self._expiry[key]
            return False
        return True

    async def acquire(self, keys: Iterable[Key]) -> list[Key]:
        """Take the locks of `keys` in sorted order; returns what must be released."""
        taken: list[Key] = []
        try:
            for key in sorted(set(keys)):
                lock = self._locks.get(key)
                if lock is None:
                    lock = self._locks[key] = asyncio.Lock()
                await lock.acquire()
                taken.append(key)
        except BaseException:
            self.release(taken)
            raise
        return taken

    def release(self, keys: list[Key]) -> None:
        for key in keys:
            lock = self._locks.get(key)
            if lock is None:
                continue
            lock.release()
            if lock._waiters:  # type: ignore[attr-defined]
                # Still contended: stay hot. A key that cooled down while a queue waited on
                # it would let newcomers run unlocked into the queue's commits and conflict.
                self.mark(key)
            elif not lock.locked() and key not in self._expiry:
                del self._locks[key]


class Admission:
    """The hot keys one running transaction holds (or has been told to take)."""

    __slots__ = ("held", "hot")

    def __init__(self, hot: HotKeys, held: Iterable[Key] = ()) -> None:
        self.hot = hot
        self.held = frozenset(held)

    def check(self, key: Key) -> None:
        if key not in self.held and self.hot.is_hot(key):
            raise RestartTransaction(key)
