"""One cron job of every kind. An interval cron runs first at deploy time, then every period;
`timezone=` (Bayou's addition) runs a cron expression on a local clock."""

from bayou import Crons, internal

crons = Crons()
crons.interval("pulse", internal.reminders.beat, {"cron": "pulse"}, minutes=1)
crons.hourly("hourly", internal.reminders.beat, {"cron": "hourly"}, minute_utc=7)
crons.daily("daily", internal.reminders.beat, {"cron": "daily"}, hour_utc=3, minute_utc=30)
crons.weekly(
    "weekly",
    internal.reminders.beat,
    {"cron": "weekly"},
    day_of_week="monday",
    hour_utc=9,
    minute_utc=0,
)
crons.monthly(
    "monthly", internal.reminders.beat, {"cron": "monthly"}, day=1, hour_utc=0, minute_utc=0
)
crons.cron("weekdays", "0 9 * * 1-5", internal.reminders.beat, {"cron": "weekdays"})
