"""Headless Chromium driven over the DevTools protocol (CDP), just enough for page tests:
open a URL, evaluate JavaScript, wait for the DOM to show something.

    with Browser.start(chromium, tmp_dir) as browser:
        page = browser.open("http://127.0.0.1:8000/index.html")
        page.wait_for("document.body.innerText", lambda text: "hello" in text)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    """One tab."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv(timeout=30))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise AssertionError(f"CDP {method} failed: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(
        self, expression: str, predicate: Callable[[Any], bool], timeout: float = 30.0
    ) -> Any:
        """Evaluate `expression` until `predicate` holds for its value; returns the value."""
        deadline = time.monotonic() + timeout
        value: Any = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if predicate(value):
                return value
            time.sleep(0.05)
        raise AssertionError(f"{expression} never matched in {timeout}s; last value: {value!r}")


class Browser:
    """A headless Chromium process with remote debugging on a free port."""

    def __init__(
        self, process: subprocess.Popen[str], endpoint: str, sockets: contextlib.ExitStack
    ) -> None:
        self.process = process
        self.endpoint = endpoint  # http://127.0.0.1:<port>
        self._sockets = sockets

    @classmethod
    @contextlib.contextmanager
    def start(cls, chromium: str, profile_dir: Path) -> Iterator[Browser]:
        process = subprocess.Popen(
            [
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={profile_dir}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            with contextlib.ExitStack() as sockets:
                yield cls(process, cls._endpoint(process), sockets)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @staticmethod
    def _endpoint(process: subprocess.Popen[str]) -> str:
        assert process.stderr is not None
        seen = []
        for line in process.stderr:
            seen.append(line)
            match = _LISTENING.search(line)
            if match:
                host_port = match.group(1).split("/")[2]
                return f"http://{host_port}"
            if len(seen) > 200:
                break
        raise AssertionError("Chromium did not start its DevTools endpoint:\n" + "".join(seen))

    def open(self, url: str) -> Page:
        targets = json.loads(
            urllib.request.urlopen(f"{self.endpoint}/json/list", timeout=10).read()
        )
        target = next(t for t in targets if t["type"] == "page")
        ws = self._sockets.enter_context(connect(target["webSocketDebuggerUrl"], max_size=None))
        page = Page(ws)
        page.call("Page.navigate", url=url)
        return page
