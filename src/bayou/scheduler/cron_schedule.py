"""When a cron job runs next, the way Convex computes it (crates/model/src/cron_jobs).

Schedules are the JSON `cronJobs().export()` writes (`{"type": "interval", "seconds": 30}`,
`{"type": "hourly", "minuteUTC": 5}`, `{"type": "cron", "cron": "0 9 * * 1-5"}` …):

- `interval`: the first run at deploy time, then every `seconds` (minutes and hours are
  converted), counted from the previous scheduled time;
- `hourly` / `daily` / `weekly` / `monthly` / `cron`: the next occurrence of the cron
  expression after now, in UTC — or in the schedule's `timezone` (Bayou's addition for
  Python crons; daylight-saving changes behave as in cron: a time that does not exist runs
  once, at the first time that does);
- an `hourly`/`daily`/`weekly`/`monthly` schedule without `minuteUTC` runs at a minute
  derived from its identifier (Convex picks a random one), so that such jobs spread over
  the hour. Convex also delays pinned-minute runs by up to 60 s of random "splay"; a
  self-hosted deployment runs them on time.

If the next time computed from the previous run is already past (the server was down, or
the run took longer than the period), the missed occurrences are skipped.

Cron expressions are parsed by `cronsim` (chosen over croniter for its DST handling and
active maintenance).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from bayou.errors import BadRequest

DAYS_OF_WEEK = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600}


def interval_seconds(schedule: dict[str, Any]) -> float | None:
    """The period of an `interval` schedule, or None for clock schedules."""
    if schedule.get("type") != "interval":
        return None
    for unit, factor in _UNITS.items():
        if schedule.get(unit) is not None:
            return float(schedule[unit]) * factor
    raise BadRequest("An interval schedule needs seconds, minutes or hours", code="InvalidCron")


def cron_expression(schedule: dict[str, Any], identifier: str) -> str:
    """The 5-field cron expression of a clock schedule."""
    kind = schedule.get("type")
    if kind == "cron":
        return str(schedule.get("cron") or "")
    minute = schedule.get("minuteUTC")
    if minute is None:
        minute = int.from_bytes(hashlib.sha256(identifier.encode()).digest()[:4], "big") % 60
    if kind == "hourly":
        return f"{int(minute)} * * * *"
    hour = int(schedule.get("hourUTC", 0))
    if kind == "daily":
        return f"{int(minute)} {hour} * * *"
    if kind == "weekly":
        day = DAYS_OF_WEEK.index(str(schedule.get("dayOfWeek")))
        return f"{int(minute)} {hour} * * {day}"
    if kind == "monthly":
        return f"{int(minute)} {hour} {int(schedule.get('day', 1))} * *"
    raise BadRequest(f"Unknown cron schedule type {kind!r}", code="InvalidCron")


def check(identifier: str, schedule: Any) -> None:
    """Refuse a schedule that cannot run, naming the cron job (at push time)."""
    try:
        if not isinstance(schedule, dict):
            raise BadRequest("the schedule must be an object", code="InvalidCron")
        period = interval_seconds(schedule)
        if period is not None:
            if period <= 0:
                raise BadRequest("the interval must be positive", code="InvalidCron")
            return
        _timezone(schedule)
        CronSim(cron_expression(schedule, identifier), datetime.now(UTC))
    except (BadRequest, CronSimError, ValueError, TypeError) as e:
        message = e.message if isinstance(e, BadRequest) else str(e)
        raise BadRequest(
            f"Cron job {identifier!r} has an invalid schedule {schedule!r}: {message}",
            code="InvalidCronSchedule",
        ) from None


def next_run_ms(
    identifier: str, schedule: dict[str, Any], previous_ms: float | None, now_ms: float
) -> float:
    """When the job runs next, given when its previous run was scheduled (None: never)."""
    period = interval_seconds(schedule)
    if period is not None:
        if previous_ms is None:
            return now_ms  # the first run at deploy time
        period_ms = period * 1000.0
        following = previous_ms + period_ms
        if following <= now_ms:  # skip what was missed
            following += ((now_ms - following) // period_ms + 1) * period_ms
        return following
    zone = _timezone(schedule)
    start = datetime.fromtimestamp(now_ms / 1000.0, tz=zone)
    occurrence = next(iter(CronSim(cron_expression(schedule, identifier), start)))  # > start
    return occurrence.timestamp() * 1000.0


def _timezone(schedule: dict[str, Any]) -> Any:
    name = schedule.get("timezone")
    if name is None:
        return UTC
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"unknown time zone {name!r}", code="InvalidCron") from None
