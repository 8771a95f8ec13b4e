"""The fake clock of a test: frozen until the test moves it.

Everything that reads the time in a test backend reads this clock: commit timestamps (so
`_creationTime`), what functions see as `time.time()` and `datetime.now()` (actions too),
the time `ctx.scheduler.run_after` counts from, and the scheduler and cron runners that
decide what is due. It starts at the real time when the test begins.
"""

from __future__ import annotations

import datetime
import time


class FakeClock:
    """A clock in milliseconds since the epoch that moves only when told to."""

    def __init__(self, start_ms: float | None = None) -> None:
        self._ms = float(start_ms if start_ms is not None else time.time() * 1000.0)
        self._ns_ticks = 0

    @property
    def ms(self) -> float:
        """The time, in milliseconds since the epoch."""
        return self._ms

    def time(self) -> float:
        """The time in seconds since the epoch (what `time.time()` would say)."""
        return self._ms / 1000.0

    def time_ns(self) -> int:
        """The time in nanoseconds, for commit timestamps: each reading a microsecond
        after the last, so that documents written one after the other get increasing
        `_creationTime`s (nanoseconds are lost in a float of milliseconds)."""
        self._ns_ticks += 1
        return int(self._ms * 1_000_000) + self._ns_ticks * 1000

    def now(self) -> datetime.datetime:
        """The time as an aware UTC datetime."""
        return datetime.datetime.fromtimestamp(self.time(), datetime.UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds` (never backward)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward: advance by a positive duration")
        self._ms += seconds * 1000.0
        self._ns_ticks = 0

    def set(self, when: datetime.datetime | float) -> None:
        """Move the clock to `when` (an aware datetime, or ms since the epoch), forward."""
        ms = when.timestamp() * 1000.0 if isinstance(when, datetime.datetime) else float(when)
        if ms < self._ms:
            raise ValueError("the clock only moves forward: set a later time")
        self._ms = ms
        self._ns_ticks = 0
