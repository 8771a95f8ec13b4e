"""`Crons`: the cron jobs of `crons.py`, exported as the npm package's `cronJobs().export()`.

    crons = Crons()
    crons.interval("clear messages", internal.messages.clear, {}, minutes=10)
    crons.daily("report", internal.reports.send, hour_utc=7, minute_utc=30)
    crons.cron("paris morning", "0 8 * * *", internal.reports.send, timezone="Europe/Paris")

Schedules are Convex's (`{"type": "interval", "seconds": 60}` …); the `timezone` of
`cron()` is Bayou's addition (Convex runs crons in UTC) and appears in the schedule JSON
as `"timezone"` only when given.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from typing import Any, Final

from bayou.runtimes.python.api.references import function_name
from bayou.runtimes.python.api.values import js_json_text, to_convex
from bayou.values.json import to_json

DAYS_OF_WEEK: Final = (
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
)
_PRINTABLE_ASCII = re.compile(r"^[ -~]*$")


def _whole(value: object, what: str, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(f"{what} must be an integer, not {value!r}")
    n = int(value)
    if n < low or (high is not None and n > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ValueError(f"{what} must be an integer {bound}, not {n}")
    return n


def _check_timezone(name: object) -> None:
    try:
        zoneinfo.ZoneInfo(name)  # type: ignore[arg-type]
    except (zoneinfo.ZoneInfoNotFoundError, TypeError, ValueError):
        raise ValueError(
            f"Unknown time zone {name!r}: use an IANA name like 'Europe/Paris' or 'UTC'"
        ) from None


class Crons:
    """The cron jobs of a deployment; assign one instance to `crons` in `crons.py`."""

    is_crons: Final = True

    def __init__(self) -> None:
        self.crons: dict[str, dict[str, Any]] = {}

    def schedule(
        self,
        identifier: str,
        schedule: Mapping[str, Any],
        reference: Any,
        args: Mapping[str, Any] | None = None,
    ) -> None:
        """Register `reference(args)` to run on `schedule` (a Convex schedule object)."""
        if not isinstance(identifier, str) or not _PRINTABLE_ASCII.match(identifier):
            raise ValueError(
                f"Invalid cron identifier {identifier!r}: use ASCII letters that are not "
                "control characters"
            )
        if identifier in self.crons:
            raise ValueError(f"Cron identifier registered twice: {identifier}")
        where = f"crons {identifier!r}"
        if args is None:
            args = {}
        if not isinstance(args, Mapping):
            raise TypeError(f"{where}: args must be a dict, not {type(args).__name__}")
        self.crons[identifier] = {
            "name": function_name(reference, where),
            "args": [to_json(to_convex(dict(args), where))],
            "schedule": dict(schedule),
        }

    def interval(
        self,
        identifier: str,
        reference: Any,
        args: Mapping[str, Any] | None = None,
        *,
        seconds: int | None = None,
        minutes: int | None = None,
        hours: int | None = None,
    ) -> None:
        """Run every `seconds=`, `minutes=` or `hours=` (exactly one); the first run is at
        deploy time."""
        given = {k: x for k, x in (("seconds", seconds), ("minutes", minutes), ("hours", hours))}
        present = {k: x for k, x in given.items() if x is not None}
        if len(present) != 1:
            raise ValueError("Must specify one of seconds, minutes, or hours")
        ((unit, amount),) = present.items()
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValueError("Interval must be an integer greater than 0")
        self.schedule(identifier, {unit: amount, "type": "interval"}, reference, args)

    def hourly(
        self,
        identifier: str,
        reference: Any,
        args: Mapping[str, Any] | None = None,
        *,
        minute_utc: int | None = None,
    ) -> None:
        """Run every hour, at `minute_utc` (or a stable minute the backend picks)."""
        schedule: dict[str, Any] = {"type": "hourly"}
        if minute_utc is not None:
            schedule = {"minuteUTC": _whole(minute_utc, "Minute of hour", 0, 59), "type": "hourly"}
        self.schedule(identifier, schedule, reference, args)

    def daily(
        self,
        identifier: str,
        reference: Any,
        args: Mapping[str, Any] | None = None,
        *,
        hour_utc: int,
        minute_utc: int | None = None,
    ) -> None:
        """Run every day at `hour_utc`:`minute_utc` UTC."""
        hour = _whole(hour_utc, "Hour of day", 0, 23)
        schedule: dict[str, Any] = {"hourUTC": hour, "type": "daily"}
        if minute_utc is not None:
            minute = _whole(minute_utc, "Minute of hour", 0, 59)
            schedule = {"hourUTC": hour, "minuteUTC": minute, "type": "daily"}
        self.schedule(identifier, schedule, reference, args)

    def weekly(
        self,
        identifier: str,
        reference: Any,
        args: Mapping[str, Any] | None = None,
        *,
        day_of_week: str,
        hour_utc: int,
        minute_utc: int | None = None,
    ) -> None:
        """Run every week on `day_of_week` ("monday" …) at `hour_utc`:`minute_utc` UTC."""
        if day_of_week not in DAYS_OF_WEEK:
            raise ValueError('Day of week must be a string like "monday".')
        hour = _whole(hour_utc, "Hour of day", 0, 23)
        schedule: dict[str, Any] = {"dayOfWeek": day_of_week, "hourUTC": hour, "type": "weekly"}
        if minute_utc is not None:
            minute = _whole(minute_utc, "Minute of hour", 0, 59)
            schedule = {
                "dayOfWeek": day_of_week,
                "hourUTC": hour,
                "minuteUTC": minute,
                "type": "weekly",
            }
        self.schedule(identifier, schedule, reference, args)

    def monthly(
        self,
        identifier: str,
        reference: Any,
        args: Mapping[str, Any] | None = None,
        *,
        day: int,
        hour_utc: int,
        minute_utc: int | None = None,
    ) -> None:
        """Run every month on `day` (1–31; skipped in shorter months) at `hour_utc` UTC."""
        d = _whole(day, "Day of month", 1, 31)
        hour = _whole(hour_utc, "Hour of day", 0, 23)
        schedule: dict[str, Any] = {"day": d, "hourUTC": hour, "type": "monthly"}
        if minute_utc is not None:
            minute = _whole(minute_utc, "Minute of hour", 0, 59)
            schedule = {"day": d, "hourUTC": hour, "minuteUTC": minute, "type": "monthly"}
        self.schedule(identifier, schedule, reference, args)

    def cron(
        self,
        identifier: str,
        cron: str,
        reference: Any,
        args: Mapping[str, Any] | None = None,
        *,
        timezone: str | None = None,
    ) -> None:
        """Run on a 5-field cron schedule ("m h dom mon dow"), in UTC unless `timezone`
        (an IANA name such as "Europe/Paris") is given."""
        if not isinstance(cron, str) or len(cron.split()) != 5:
            raise ValueError(
                f'Invalid cron schedule {cron!r}: use five fields, "minute hour day-of-month '
                'month day-of-week", e.g. "0 8 * * 1"'
            )
        schedule: dict[str, Any] = {"cron": cron, "type": "cron"}
        if timezone is not None:
            _check_timezone(timezone)
            schedule["timezone"] = timezone
        self.schedule(identifier, schedule, reference, args)

    def export(self) -> str:
        """The JSON text `cronJobs().export()` produces."""
        return js_json_text(self.crons)

    def __repr__(self) -> str:
        return f"<Crons {sorted(self.crons)}>"
