"""What runs beyond one request, in both languages of the chat app: a reminder scheduled
for later (seen by a `ConvexClient` subscription), a canceled one, an action run by the
scheduler, `_scheduled_functions` through `npx convex data`, cron jobs of every kind
registered by the push (the interval one already ran), and the HTTP routes on both origins
(the site port and `/http/` on the API port), hit with httpx."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.compat.apps.conftest import ChatDeployment
from tests.compat.conftest import eventually
from tests.compat.node_client import NodeClient

pytestmark = pytest.mark.compat


def people(chat: ChatDeployment, tag: str) -> tuple[str, str]:
    user = chat.run("users:create", {"name": "Rem", "email": f"rem-{tag}@example.com"})
    channel = chat.run("channels:create", {"name": f"reminders-{tag}"})
    return user, channel


async def test_a_reminder_arrives_later_and_a_canceled_one_never(
    chat: ChatDeployment, node: str, js_dir: Path
) -> None:
    user, channel = people(chat, f"later-{chat.language}")
    async with NodeClient.start(node, js_dir, chat.url) as watcher:
        watcher.subscribe("msgs", "messages:list", {"channel": channel})
        assert await watcher.update("msgs") == []
        # Long enough that the cancel (a CLI process) lands first on a loaded machine.
        scheduled_at = time.monotonic()
        canceled = chat.run(
            "reminders:remind",
            {"channel": channel, "author": user, "body": "never", "delayMs": 3000},
        )
        chat.run("reminders:cancel", {"id": canceled})
        chat.run(
            "reminders:remind",
            {"channel": channel, "author": user, "body": "stand up", "delayMs": 50},
        )
        got = await watcher.update_until("msgs", lambda m: len(m) == 1)
        assert got[0]["body"] == "reminder: stand up"
    assert chat.run("reminders:job", {"id": canceled})["state"] == {"kind": "canceled"}
    time.sleep(max(0.0, scheduled_at + 3.3 - time.monotonic()))  # past its time
    assert [m["body"] for m in chat.run("messages:list", {"channel": channel})] == [
        "reminder: stand up"
    ]


def test_the_scheduler_runs_an_action(chat: ChatDeployment) -> None:
    user, channel = people(chat, f"digest-{chat.language}")
    job = chat.run("reminders:scheduleDigest", {"channel": channel, "author": user})
    eventually(lambda: chat.run("reminders:job", {"id": job})["state"] == {"kind": "success"})
    bodies = [m["body"] for m in chat.run("messages:list", {"channel": channel})]
    assert bodies == ["digest: 0 messages"]
    listed = chat.npx("data", "_scheduled_functions", "--limit", "1000").stdout
    assert "reminders.js:digest" in listed


def test_crons_of_every_kind_are_registered_and_an_interval_one_ran(chat: ChatDeployment) -> None:
    eventually(lambda: chat.run("reminders:heartbeats", {"cron": "pulse"}) >= 1)
    for clock in ("hourly", "daily", "weekly", "monthly", "weekdays"):
        assert chat.run("reminders:heartbeats", {"cron": clock}) == 0  # not their time


@pytest.mark.parametrize("origin", ["site", "api"])
def test_http_routes_answer_on_both_origins(chat: ChatDeployment, origin: str) -> None:
    base = chat.server.site_url if origin == "site" else chat.url + "/http"
    user, channel = people(chat, f"http-{chat.language}-{origin}")
    with httpx.Client(base_url=base, timeout=30) as http:
        posted = http.post("/webhook", json={"channel": channel, "author": user, "body": "hook"})
        assert posted.status_code == 201 and posted.json() == {"seq": 1}
        assert [m["body"] for m in chat.run("messages:list", {"channel": channel})] == ["hook"]

        upload = http.post(
            "/upload", data={"name": "notes"}, files={"file": ("a.txt", b"hi there")}
        )
        assert upload.json() == {"name": "notes", "size": 8, "text": "hi there"}

        streamed = http.get("/stream")
        assert streamed.text == "one two three"

        moved = http.get("/old-home", follow_redirects=False)
        assert moved.status_code == 302 and moved.headers["location"].endswith("/home")

        echo = http.get("/echo/a/b", params={"q": "1"})
        assert echo.text == "GET /echo/a/b?q=1"
        assert http.head("/echo/x").status_code == 200  # HEAD is routed as GET

        missing = http.get("/nowhere")
        assert missing.status_code == 404 and missing.text == "No HttpAction routed for /nowhere"

        failed = http.post("/boom", headers={"Origin": "http://elsewhere.test"})
        assert failed.status_code == 500
        assert "webhook failed" in failed.json()["code"]
        assert "access-control-allow-origin" not in failed.headers  # no CORS unless the app adds it


def test_odd_paths_get_an_answer_and_the_server_keeps_serving(chat: ChatDeployment) -> None:
    host, port = chat.server.site_url.removeprefix("http://").split(":")
    for raw in (b"/echo/../webhook", b"/echo/%FF%FE", b"/echo/a%00b", b"/../../etc/passwd"):
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(b"GET " + raw + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        status = int(answer.split(b" ", 2)[1])
        assert status in (200, 400, 404), (raw, answer[:300])
    assert httpx.get(chat.server.site_url + "/echo/ok").text == "GET /echo/ok"
