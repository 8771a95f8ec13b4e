"""`bayou dev` on the Python chat app: it pushes on save, a live subscription of the official
npm `ConvexClient` re-runs on the new code, errors are shown without exiting (the old code
keeps serving), and the function logs are tailed (issue 5)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.apps.conftest import ChatDeployment
from tests.compat.line_reader import LineReader
from tests.compat.node_client import NodeClient

pytestmark = pytest.mark.compat

READY = "Convex functions ready!"


@pytest.fixture
def dev(py_chat: ChatDeployment) -> Iterator[tuple[subprocess.Popen[str], LineReader]]:
    process = py_chat.bayou_process("dev")
    output = LineReader(process.stdout)  # type: ignore[arg-type]
    try:
        output.wait_for(lambda line: READY in line, timeout=60)
        output.wait_for(lambda line: "Watching" in line)
        yield process, output
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


async def wait_line(output: LineReader, pattern: str, timeout: float = 30.0) -> str:
    return await asyncio.to_thread(output.wait_for, lambda line: pattern in line, timeout)


async def test_dev_pushes_edits_and_live_queries_rerun_on_the_new_code(
    py_chat: ChatDeployment,
    dev: tuple[subprocess.Popen[str], LineReader],
    node: str,
    js_dir: Path,
) -> None:
    process, output = dev
    channels = py_chat.dir / "convex" / "channels.py"
    original = channels.read_text()
    py_chat.run("channels:create", {"name": "dev-room", "topic": "editing"})
    try:
        async with NodeClient.start(node, js_dir, py_chat.url) as client:
            client.subscribe("channels", "channels:list")
            first = await client.update("channels")
            room = next(c for c in first if c["name"] == "dev-room")
            assert room == {"name": "dev-room", "topic": "editing", "messages": 0}

            edit(channels, '{"name": c["name"], "topic"', '{"name": c["name"].upper(), "topic"')
            await wait_line(output, READY)
            updated = await client.update_until(
                "channels", lambda value: any(c["name"] == "DEV-ROOM" for c in value)
            )
            assert {"name": "DEV-ROOM", "topic": "editing", "messages": 0} in updated

            # a syntax error: reported with its file and line; the process goes on
            edit(channels, "def by_name(ctx: QueryCtx, name: str) -> Any:", "def by_name(ctx:")
            error = await wait_line(output, "Error")
            assert "channels.py:" in error + "".join(output.lines[-5:])
            assert process.poll() is None
            assert py_chat.run("channels:byName", {"name": "dev-room"})["topic"] == "editing"

            # fixed: pushed again, the subscription sees the restored code
            channels.write_text(original)
            await wait_line(output, READY)
            restored = await client.update_until(
                "channels", lambda value: any(c["name"] == "dev-room" for c in value)
            )
            assert {"name": "dev-room", "topic": "editing", "messages": 0} in restored
    finally:
        channels.write_text(original)


async def test_dev_reports_a_module_raising_at_import_and_tails_logs(
    py_chat: ChatDeployment, dev: tuple[subprocess.Popen[str], LineReader]
) -> None:
    process, output = dev
    broken = py_chat.dir / "convex" / "startup.py"
    try:
        broken.write_text("import os\n\nLIMIT = int(os.environ['CHAT_LIMIT'])\n")
        error = await wait_line(output, "Error")
        text = error + "".join(output.lines[-10:])
        assert re.search(r"startup\.py:3\b", text), text
        assert "KeyError" in text and "CHAT_LIMIT" in text
        assert process.poll() is None
    finally:
        broken.unlink()
    await wait_line(output, READY)
    # the logs of calls made meanwhile are printed
    user = py_chat.run("users:create", {"name": "Tail", "email": "tail@dev.test"})
    channel = py_chat.run("channels:create", {"name": "tailed"})
    py_chat.run("messages:send", {"channel": channel, "author": user, "body": json.dumps("x")})
    line = await wait_line(output, "[CONVEX M(messages:send)] [LOG]")
    assert "message 1 in tailed by Tail" in line
