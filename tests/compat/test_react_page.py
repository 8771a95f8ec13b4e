"""A page using `convex/react` (`useQuery`, `useMutation`, `usePaginatedQuery`), built
locally with esbuild, served on loopback and opened in headless Chromium: it renders the
deployment's data and updates live when another client writes, and uploads a file with the
browser's `fetch` (the chat example's `files` module) and reads it back."""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest

from tests.compat.apps.conftest import ChatDeployment, launch
from tests.compat.browser import Browser, find_chromium
from tests.compat.conftest import COMPAT_DIR, ConvexApp
from tests.conftest import IN_CI

pytestmark = pytest.mark.compat
REACT_DIR = COMPAT_DIR / "react"


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        if IN_CI:
            pytest.fail("Chromium is needed for the convex/react test (scripts/test installs it)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def page_url(js_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page, bundled with the official `convex` package, served on a loopback port."""
    with open(REACT_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (REACT_DIR / "node_modules" / "react-dom" / "package.json").exists():
            npm = shutil.which("npm")
            assert npm is not None, "npm is needed to install react"
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=REACT_DIR,
                check=True,
            )
    out = tmp_path_factory.mktemp("page")
    shutil.copy(REACT_DIR / "page" / "index.html", out / "index.html")
    subprocess.run(
        [
            str(js_dir / "node_modules" / ".bin" / "esbuild"),
            str(REACT_DIR / "page" / "app.jsx"),
            "--bundle",
            f"--outfile={out / 'bundle.js'}",
            "--jsx=automatic",
            '--define:process.env.NODE_ENV="production"',
            # One React: tests/js has its own copy too (a peer of @convex-dev/rate-limiter),
            # which convex/react would otherwise import beside this page's react-dom.
            f"--alias:react={REACT_DIR / 'node_modules' / 'react'}",
            f"--alias:react-dom={REACT_DIR / 'node_modules' / 'react-dom'}",
            "--log-level=warning",
        ],
        env={
            **os.environ,
            "NODE_PATH": f"{REACT_DIR / 'node_modules'}:{js_dir / 'node_modules'}",
        },
        check=True,
        timeout=120,
    )
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_convex_react_page_updates_live(
    convex_app: ConvexApp, chromium: str, page_url: str, tmp_path: Path
) -> None:
    for rank in (10.0, 20.0, 30.0):
        convex_app.cli("run", "messages:rank", orjson.dumps({"rank": rank}).decode())
    with Browser.start(chromium, tmp_path / "profile") as browser:
        page = browser.open(f"{page_url}?url={convex_app.server.url}")
        messages = "document.getElementById('messages')?.innerText ?? ''"
        ranks = "document.getElementById('ranks')?.innerText ?? ''"
        status = "document.getElementById('status')?.innerText ?? ''"

        page.wait_for(messages, lambda text: "loading" not in text)
        page.wait_for(ranks, lambda text: text == "10,20")
        assert page.evaluate(status) == "CanLoadMore"

        # useQuery: another client writes, the page shows it.
        convex_app.cli("run", "messages:send", '{"body": "written by the cli"}')
        page.wait_for(messages, lambda text: "written by the cli" in text)

        # useMutation: the page writes, the page shows it.
        page.evaluate("document.getElementById('send').click()")
        page.wait_for(messages, lambda text: "sent from react" in text)

        # usePaginatedQuery: a document inside the loaded page makes it grow in place...
        convex_app.cli("run", "messages:rank", '{"rank": 15}')
        page.wait_for(ranks, lambda text: text == "10,15,20")
        # ...and loading more continues after the page's end.
        page.evaluate("document.getElementById('more').click()")
        page.wait_for(ranks, lambda text: text == "10,15,20,30")
        page.wait_for(status, lambda text: text == "Exhausted")


@pytest.fixture(scope="module")
def files_app(
    tmp_path_factory: pytest.TempPathFactory, node: str, js_dir: Path
) -> Iterator[ChatDeployment]:
    """examples/ts-app (with its `files` module) on a server of its own."""
    deployment = launch("ts", tmp_path_factory, node, js_dir)
    try:
        yield deployment
    finally:
        deployment.server.stop()


def test_a_convex_react_page_uploads_a_file_and_reads_it_back(
    files_app: ChatDeployment, chromium: str, page_url: str, tmp_path: Path
) -> None:
    with Browser.start(chromium, tmp_path / "profile") as browser:
        page = browser.open(f"{page_url}?files={files_app.url}")
        files = "document.getElementById('files')?.innerText ?? null"
        text = "document.getElementById('file-text')?.innerText ?? ''"
        page.wait_for(files, lambda shown: shown is not None and "loading" not in shown)

        # generateUploadUrl (useMutation) → fetch POST → save (useMutation) → useQuery
        page.evaluate("document.getElementById('upload').click()")
        page.wait_for(files, lambda shown: "browser.txt:25:text/plain" in shown)

        # the URL from getUrl, fetched by the page (a cross-origin GET)
        page.evaluate("document.querySelector('#files li').click()")
        page.wait_for(text, lambda shown: shown == "uploaded from the browser")
    [stored] = [f for f in files_app.run("files:list") if f["name"] == "browser.txt"]
    assert stored["contentType"] == "text/plain" and stored["size"] == 25
