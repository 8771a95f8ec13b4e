"""Next run times of cron jobs, as Convex computes them (plus Bayou's time zones)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bayou.errors import BadRequest
from bayou.scheduler.cron_schedule import check, next_run_ms


def ms(*args: int, tz=UTC) -> float:
    return datetime(*args, tzinfo=tz).timestamp() * 1000


def test_an_interval_runs_first_at_deploy_then_every_period() -> None:
    schedule = {"type": "interval", "minutes": 5}
    now = ms(2026, 12, 7, 10, 0)
    assert next_run_ms("x", schedule, None, now) == now
    assert next_run_ms("x", schedule, now, now + 1000) == now + 300_000


def test_an_interval_skips_the_runs_it_missed() -> None:
    schedule = {"type": "interval", "seconds": 60}
    start = ms(2026, 12, 7, 10, 0)
    # Down for ten and a half minutes: the next run is the next slot after now, once.
    assert next_run_ms("x", schedule, start, start + 630_000) == start + 660_000


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"type": "hourly", "minuteUTC": 15}, ms(2026, 12, 7, 10, 15)),
        ({"type": "daily", "hourUTC": 17, "minuteUTC": 30}, ms(2026, 12, 7, 17, 30)),
        (
            {"type": "weekly", "dayOfWeek": "friday", "hourUTC": 9, "minuteUTC": 0},
            ms(2026, 12, 11, 9),
        ),
        ({"type": "monthly", "day": 1, "hourUTC": 0, "minuteUTC": 0}, ms(2027, 1, 1)),
        ({"type": "cron", "cron": "0 9 * * 1-5"}, ms(2026, 12, 8, 9)),
    ],
)
def test_clock_schedules_run_at_their_next_utc_time(schedule, expected) -> None:
    # Monday 7 December 2026, 10:05 UTC.
    assert next_run_ms("x", schedule, None, ms(2026, 12, 7, 10, 5)) == expected


def test_an_unpinned_minute_is_stable_per_job_and_within_the_hour() -> None:
    now = ms(2026, 12, 7, 10, 0)
    first = next_run_ms("report", {"type": "hourly"}, None, now)
    assert first == next_run_ms("report", {"type": "hourly"}, None, now)
    assert now < first <= now + 3_600_000


def test_a_time_zone_follows_daylight_saving_and_a_missing_time_runs_once() -> None:
    paris = ZoneInfo("Europe/Paris")
    schedule = {"type": "cron", "cron": "30 2 * * *", "timezone": "Europe/Paris"}
    # 29 March 2026: clocks jump from 02:00 to 03:00 in Paris; 02:30 does not exist.
    before = ms(2026, 3, 28, 12, 0, tz=paris)
    first = next_run_ms("x", schedule, None, before)
    assert first == ms(2026, 3, 29, 3, 0, tz=paris)
    assert next_run_ms("x", schedule, first, first + 1) == ms(2026, 3, 30, 2, 30, tz=paris)


@pytest.mark.parametrize(
    "schedule",
    [
        {"type": "cron", "cron": "61 * * * *"},
        {"type": "cron", "cron": "not a cron"},
        {"type": "interval", "seconds": 0},
        {"type": "cron", "cron": "0 9 * * *", "timezone": "Mars/Olympus"},
        {"type": "fortnightly"},
    ],
)
def test_a_schedule_that_cannot_run_is_refused_naming_the_cron(schedule) -> None:
    with pytest.raises(BadRequest, match="Cron job 'nightly report' has an invalid schedule"):
        check("nightly report", schedule)
