"""The official clients against the chat app in both languages: every function, the errors
clients meet, and the same answers whichever language serves them (issues 3 and 5).

Each client — npm `ConvexHttpClient`, npm `ConvexClient` (sync WebSocket), PyPI
`ConvexHttpClient`, PyPI `ConvexClient` (Rust core) — runs the scenario of scenario.py
against each deployment. A run's normalized transcript must equal expected_transcript.json
(reviewed by hand: it is what the app is meant to answer), so the two languages and the
four clients all agree with each other and with the intent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.compat.apps.clients import CLIENTS, official_client
from tests.compat.apps.conftest import ChatDeployment
from tests.compat.apps.scenario import Transcript, run_scenario
from tests.compat.node_client import NodeClient

pytestmark = pytest.mark.compat

EXPECTED: Transcript = json.loads((Path(__file__).parent / "expected_transcript.json").read_text())


class Transcripts:
    """Scenario runs, once per (deployment, client), shared by the module's tests."""

    def __init__(self, node: str, js_dir: Path) -> None:
        self.node = node
        self.js_dir = js_dir
        self.runs: dict[tuple[str, str], Transcript] = {}

    def of(self, deployment: ChatDeployment, client_name: str) -> Transcript:
        key = (deployment.language, client_name)
        if key not in self.runs:
            with official_client(client_name, deployment.url, self.node, self.js_dir) as client:
                # The same tag in both languages: both deployments see the same data.
                self.runs[key] = run_scenario(client, f"run-{client_name}")
        return self.runs[key]


@pytest.fixture(scope="module")
def transcripts(node: str, js_dir: Path) -> Transcripts:
    return Transcripts(node, js_dir)


def differences(got: Transcript, want: Transcript) -> list[str]:
    steps = list(dict.fromkeys([*want, *got]))
    return [
        f"{step}: got {got.get(step)!r}, want {want.get(step)!r}"
        for step in steps
        if got.get(step) != want.get(step)
    ]


@pytest.mark.parametrize("client_name", CLIENTS)
def test_client_gets_the_intended_answer_from_every_function(
    chat: ChatDeployment, client_name: str, transcripts: Transcripts
) -> None:
    assert differences(transcripts.of(chat, client_name), EXPECTED) == []


@pytest.mark.parametrize("client_name", CLIENTS)
def test_client_cannot_tell_which_language_serves_it(
    ts_chat: ChatDeployment, py_chat: ChatDeployment, client_name: str, transcripts: Transcripts
) -> None:
    from_ts = transcripts.of(ts_chat, client_name)
    from_py = transcripts.of(py_chat, client_name)
    assert differences(from_py, from_ts) == []


async def test_live_query_reruns_after_a_mutation(
    chat: ChatDeployment, node: str, js_dir: Path
) -> None:
    user = chat.run("users:create", {"name": "Lin", "email": f"lin-live@{chat.language}.test"})
    channel = chat.run("channels:create", {"name": "live"})
    async with (
        NodeClient.start(node, js_dir, chat.url) as reader,
        NodeClient.start(node, js_dir, chat.url) as writer,
    ):
        reader.subscribe("list", "messages:list", {"channel": channel})
        assert await reader.update("list") == []
        await writer.mutation(
            "messages:send", {"channel": channel, "author": user, "body": "hello live"}
        )
        update = await reader.update("list")
        assert update == [{"seq": 1, "body": "hello live", "likes": 0}]
