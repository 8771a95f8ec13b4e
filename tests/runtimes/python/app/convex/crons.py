from bayou import Crons, internal

crons = Crons()
crons.interval("clear messages", internal.messages.clear, {}, minutes=10)
crons.daily("daily clear", internal.messages.clear, hour_utc=7, minute_utc=30)
crons.cron("paris", "0 8 * * 1", "messages:clear", timezone="Europe/Paris")
