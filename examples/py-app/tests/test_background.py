"""Scheduled functions, cron jobs, actions and HTTP actions, on the test's fake clock."""

from bayou import api
from bayou.testing import ConvexTest


def chat(convex: ConvexTest) -> tuple[str, str]:
    ada = convex.mutation(api.users.create, {"name": "Ada", "email": "ada@example.com"})
    general = convex.mutation(api.channels.create, {"name": "general"})
    return general, ada


def test_a_reminder_is_delivered_when_its_time_comes(convex: ConvexTest) -> None:
    general, ada = chat(convex)
    job = convex.mutation(
        api.reminders.remind,
        {"channel": general, "author": ada, "body": "stand-up", "delayMs": 60_000},
    )
    assert convex.query(api.reminders.job, {"id": job})["state"] == {"kind": "pending"}
    convex.advance(seconds=59)
    assert convex.query(api.messages.list, {"channel": general}) == []
    convex.advance(seconds=1)
    assert [m["body"] for m in convex.query(api.messages.list, {"channel": general})] == [
        "reminder: stand-up"
    ]
    assert convex.query(api.reminders.job, {"id": job})["state"] == {"kind": "success"}


def test_a_canceled_reminder_never_runs(convex: ConvexTest) -> None:
    general, ada = chat(convex)
    job = convex.mutation(
        api.reminders.remind, {"channel": general, "author": ada, "body": "x", "delayMs": 1000}
    )
    convex.mutation(api.reminders.cancel, {"id": job})
    convex.advance(minutes=5)
    assert convex.table("messages") == []


def test_a_scheduled_action_runs_with_finish_scheduled(convex: ConvexTest) -> None:
    general, ada = chat(convex)
    convex.mutation(api.reminders.scheduleDigest, {"channel": general, "author": ada})
    convex.finish_scheduled()
    assert convex.query(api.messages.list, {"channel": general})[0]["body"] == (
        "digest: 0 messages"
    )


def test_the_interval_cron_beats_once_a_minute(convex: ConvexTest) -> None:
    convex.advance(seconds=1)  # an interval cron runs first at deploy time
    assert convex.query(api.reminders.heartbeats, {"cron": "pulse"}) == 1
    for _ in range(3):
        convex.advance(minutes=1)
    assert convex.query(api.reminders.heartbeats, {"cron": "pulse"}) == 4


def test_the_welcome_action_reads_and_writes(convex: ConvexTest) -> None:
    general, ada = chat(convex)
    result = convex.action(api.actions.welcome, {"channel": general, "author": ada})
    assert result == {"seq": 1, "before": 0, "after": 1}
    assert "welcomed 1" in convex.log_messages("INFO")


def test_the_webhook_posts_a_message(convex: ConvexTest) -> None:
    general, ada = chat(convex)
    response = convex.fetch(
        "/webhook", method="POST", json={"channel": general, "author": ada, "body": "hook"}
    )
    assert response.status == 201 and response.json() == {"seq": 1}
    assert convex.fetch("/echo/a/b?x=1").text == "GET /echo/a/b?x=1"
    assert convex.fetch("/nowhere").status == 404


def test_a_failing_http_action_answers_500_with_the_error(convex: ConvexTest) -> None:
    response = convex.fetch("/boom", method="POST")
    assert response.status == 500
    assert "webhook failed" in response.json()["code"]
