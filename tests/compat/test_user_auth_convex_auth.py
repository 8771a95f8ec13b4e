"""Convex Auth end to end: the example app examples/ts-auth-app (`@convex-dev/auth` with
`@auth/core`, the Password and Anonymous providers) set up with `bayou auth setup`,
deployed with `npx convex deploy`, and its `convex/react` page (`ConvexAuthProvider`,
`useAuthActions`) driven in headless Chromium: sign up, the user's own notes through a
reactive query, token refresh, sign out, sign in again, anonymous sign-in.

The tokens are Convex Auth's own: signed with JWT_PRIVATE_KEY, issued by the deployment's
site URL, and verified by the deployment through the discovery document and JWKS its
HTTP actions serve."""

from __future__ import annotations

import base64
import fcntl
import functools
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.browser import Browser, Page, find_chromium
from tests.compat.conftest import (
    _BAYOU,
    COMPAT_DIR,
    BayouServer,
    ConvexApp,
    run_cli,
    start_server,
)
from tests.conftest import IN_CI

pytestmark = [pytest.mark.compat, pytest.mark.slow]
PACKAGES = COMPAT_DIR / "convex_auth"
EXAMPLE = COMPAT_DIR.parent.parent / "examples" / "ts-auth-app"
TOKEN_LIFETIME_MS = 20_000  # the client refreshes 10 s before expiry: after ~10 s


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        if IN_CI:
            pytest.fail("Chromium is needed for the Convex Auth test (scripts/test installs it)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """Convex Auth, convex and React, installed from tests/compat/convex_auth's lockfile."""
    with open(PACKAGES / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (PACKAGES / "node_modules" / "@convex-dev" / "auth" / "package.json").exists():
            npm = shutil.which("npm")
            assert npm is not None, "npm is needed to install Convex Auth"
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=PACKAGES,
                check=True,
            )
    return PACKAGES / "node_modules"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("auth-page")


@pytest.fixture(scope="module")
def page_origin(page_dir: Path) -> Iterator[str]:
    """The web app's origin (Convex Auth's SITE_URL), serving `page_dir`."""
    handler = functools.partial(_QuietHandler, directory=str(page_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def auth_app(
    node: str,
    node_modules: Path,
    page_dir: Path,
    page_origin: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ConvexApp]:
    base = tmp_path_factory.mktemp("convex-auth")
    # The flows are under test, not the time limit: on a starved two-core machine the
    # first `auth:store` (a cold realm's JIT) once took over the 1 s of Convex's default.
    server = start_server(base / "data", env={"BAYOU_QUERY_TIMEOUT": "5"})
    try:
        work = base / "app"
        shutil.copytree(
            EXAMPLE, work, ignore=shutil.ignore_patterns("node_modules", "_generated", "bundle.js")
        )
        (work / "node_modules").symlink_to(node_modules)
        app = ConvexApp(work, server, node, node_modules.parent)
        bayou(server, work, "auth", "setup", "--site-url", page_origin)
        bayou(server, work, "env", "set", "JWT_DURATION_MS", str(TOKEN_LIFETIME_MS))
        run_cli(
            "convex",
            [node, str(node_modules / "convex" / "bin" / "main.js")],
            ["deploy", "--typecheck", "disable", "-y"],
            cwd=work,
            server=server,
        )
        _build_page(node_modules, work, page_dir)
        yield app
    finally:
        server.stop()


def bayou(server: BayouServer, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("bayou", _BAYOU, list(args), cwd=cwd, server=server)


def _build_page(node_modules: Path, app_dir: Path, out: Path) -> None:
    shutil.copy(app_dir / "index.html", out / "index.html")
    subprocess.run(
        [
            str(node_modules / ".bin" / "esbuild"),
            str(app_dir / "src" / "main.jsx"),
            "--bundle",
            f"--outfile={out / 'bundle.js'}",
            "--jsx=automatic",
            '--define:process.env.NODE_ENV="production"',
            "--log-level=warning",
        ],
        env={**os.environ, "NODE_PATH": str(node_modules)},
        check=True,
        timeout=120,
    )


def text(page: Page, element_id: str) -> str:
    return str(page.evaluate(f"document.getElementById('{element_id}')?.innerText ?? ''"))


def wait_text(page: Page, element_id: str, predicate: Any, timeout: float = 30.0) -> str:
    expression = f"document.getElementById('{element_id}')?.innerText ?? ''"
    return str(page.wait_for(expression, predicate, timeout))


def type_into(page: Page, element_id: str, value: str) -> None:
    """Type as a user would (React sees the input event)."""
    page.evaluate(
        "(() => {"
        f" const el = document.getElementById('{element_id}');"
        " const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;"
        f" set.call(el, {json.dumps(value)});"
        " el.dispatchEvent(new Event('input', { bubbles: true }));"
        "})()"
    )


def click(page: Page, element_id: str) -> None:
    page.evaluate(f"document.getElementById('{element_id}').click()")


def stored_token(page: Page) -> str:
    token = page.evaluate(
        "Object.keys(localStorage).filter((k) => k.startsWith('__convexAuthJWT'))"
        ".map((k) => localStorage.getItem(k))[0] ?? null"
    )
    assert isinstance(token, str), "no Convex Auth token in localStorage"
    return token


def issued_at(token: str) -> int:
    payload = token.split(".")[1]
    return int(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["iat"])


def add_note_as(server: BayouServer, token: str, body: str) -> None:
    response = httpx.post(
        f"{server.url}/api/mutation",
        json={"path": "notes:add", "args": {"body": body}, "format": "json"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.json()["status"] == "success", response.text


def sign_in_with_password(page: Page, email: str, password: str) -> None:
    wait_text(page, "auth-state", lambda t: t == "signed out")
    page.evaluate(f"document.getElementById('email').value = {json.dumps(email)}")
    page.evaluate(f"document.getElementById('password').value = {json.dumps(password)}")
    click(page, "submit")


def test_convex_auth_sign_in_own_data_refresh_and_sign_out(
    auth_app: ConvexApp, chromium: str, page_origin: str, tmp_path: Path
) -> None:
    server = auth_app.server
    with Browser.start(chromium, tmp_path / "profile") as browser:
        page = browser.open(f"{page_origin}/index.html?url={server.url}")

        # Sign up with a password: the deployment verifies Convex Auth's token (OIDC
        # discovery and JWKS from its own HTTP actions) and the page shows the user.
        sign_in_with_password(page, "ada@example.com", "correct horse battery")
        wait_text(page, "auth-state", lambda t: t == "signed in", timeout=60)
        wait_text(page, "user", lambda t: t == "ada@example.com")

        # The user's own notes, through a reactive query: their writes from the page and
        # from elsewhere (their token over HTTP) both appear without a reload.
        type_into(page, "note", "written in the page")
        click(page, "add")
        wait_text(page, "notes", lambda t: "written in the page" in t)
        first_token = stored_token(page)
        add_note_as(server, first_token, "written over http")
        wait_text(page, "notes", lambda t: "written over http" in t)

        # Token refresh: the client gets a fresh token before this one expires, the
        # deployment accepts it, and the page stays signed in and live.
        page.wait_for(
            "Object.keys(localStorage).filter((k) => k.startsWith('__convexAuthJWT'))"
            ".map((k) => localStorage.getItem(k))[0] ?? ''",
            lambda token: bool(token) and issued_at(token) > issued_at(first_token),
            timeout=TOKEN_LIFETIME_MS / 1000 + 20,
        )
        assert text(page, "auth-state") == "signed in"
        add_note_as(server, stored_token(page), "after the refresh")
        wait_text(page, "notes", lambda t: "after the refresh" in t)

        # Sign out: the page is signed out and its token is gone.
        click(page, "sign-out")
        wait_text(page, "auth-state", lambda t: t == "signed out")
        assert (
            page.evaluate(
                "Object.keys(localStorage).filter((k) => k.startsWith('__convexAuthJWT')).length"
            )
            == 0
        )

        # Sign in again: the same user, the same notes.
        click(page, "switch")
        sign_in_with_password(page, "ada@example.com", "correct horse battery")
        wait_text(page, "user", lambda t: t == "ada@example.com", timeout=60)
        wait_text(page, "notes", lambda t: "after the refresh" in t)

        # A wrong password is refused, and nobody is signed in.
        click(page, "sign-out")
        wait_text(page, "auth-state", lambda t: t == "signed out")
        click(page, "switch")
        sign_in_with_password(page, "ada@example.com", "wrong password!")
        wait_text(page, "error", lambda t: t != "", timeout=60)
        assert text(page, "auth-state") == "signed out"

        # Anonymous sign-in: another user, who sees none of Ada's notes.
        click(page, "anonymous")
        wait_text(page, "user", lambda t: t == "anonymous", timeout=60)
        assert "written in the page" not in text(page, "notes")
        type_into(page, "note", "anonymous note")
        click(page, "add")
        wait_text(page, "notes", lambda t: t.strip() == "anonymous note")
