"""User authentication end to end: a real `bayou serve`, an app whose auth.config names an
OIDC issuer the test runs on loopback (tests/auth/issuer.py) and a custom JWT provider
with a `data:` JWKS, and the official clients sending tokens — `ConvexClient.setAuth`,
`ConvexHttpClient.setAuth` (npm) and `set_auth` (PyPI) — plus raw requests for the exact
refusals."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import pytest
import websockets

from tests.auth.issuer import TestIssuer
from tests.compat.apps.clients import npm_client, pypi_client
from tests.compat.conftest import BayouServer, ConvexApp, app_copy, eventually
from tests.compat.node_client import NodeClient

pytestmark = pytest.mark.compat
APP = Path(__file__).parent.parent / "auth" / "oidc_app"
CUSTOM_ISSUER = "https://custom.example.com"


@pytest.fixture(scope="module")
def custom_issuer() -> TestIssuer:
    return TestIssuer(CUSTOM_ISSUER)  # its keys reach the server as a data: URI


@pytest.fixture(scope="module")
def auth_app(
    bayou_server: BayouServer,
    node: str,
    js_dir: Path,
    issuer: TestIssuer,
    custom_issuer: TestIssuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> ConvexApp:
    app = app_copy(APP, tmp_path_factory.mktemp("app"), bayou_server, node, js_dir)
    app.cli("env", "set", "TEST_OIDC_ISSUER", issuer.url)
    app.cli("env", "set", "TEST_CUSTOM_ISSUER", CUSTOM_ISSUER)
    app.cli("env", "set", "TEST_CUSTOM_JWKS", custom_issuer.jwks_data_uri({"ec"}))
    return app.deploy()


def query(server: BayouServer, path: str, token: str | None, kind: str = "query") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = httpx.post(
        f"{server.url}/api/{kind}",
        json={"path": path, "args": {}, "format": "json"},
        headers=headers,
        timeout=30,
    )
    return response.status_code, response.json()


# -- the HTTP API ------------------------------------------------------------------------


def test_official_http_clients_call_as_the_token_user(
    auth_app: ConvexApp, issuer: TestIssuer, node: str, js_dir: Path
) -> None:
    token = issuer.mint("user-1", name="Ada", email="ada@example.com", org={"id": "o1"})
    expected = {
        "tokenIdentifier": f"{issuer.url}|user-1",
        "subject": "user-1",
        "issuer": issuer.url,
        "name": "Ada",
        "email": "ada@example.com",
        "org": {"id": "o1"},
    }
    url = auth_app.server.url
    for start in (
        lambda: npm_client(node, js_dir, url, "http"),
        lambda: pypi_client(url, "http"),
    ):
        with start() as client:
            assert client.call("query", "whoami:me") == {"value": None}
            assert client.call("setAuth", "", {"token": token}) == {"value": None}
            assert client.call("query", "whoami:me") == {"value": expected}
            client.call("mutation", "whoami:addNote", {"body": f"from {client.name}"})
            assert f"from {client.name}" in client.call("query", "whoami:myNotes")["value"]


def test_refused_tokens_get_convex_codes(auth_app: ConvexApp, issuer: TestIssuer) -> None:
    other_key = TestIssuer(issuer.url)
    cases = {
        "wrong audience": (issuer.mint(aud="not-convex"), "NoAuthProvider"),
        "wrong issuer": (issuer.mint(iss="https://evil.example.com"), "NoAuthProvider"),
        "expired": (issuer.mint(lifetime=-5), "Unauthenticated"),
        "bad signature": (other_key.mint(), "Unauthenticated"),
        "unknown kid": (issuer.mint(kid="rotated-away"), "Unauthenticated"),
        "alg none": (issuer.unsigned(), "Unauthenticated"),
        "hs256": (issuer.hs256_with_public_key(), "Unauthenticated"),
        "not a jwt": ("hello.world", "InvalidAuthHeader"),
        "megabytes": (issuer.mint(padding="x" * 2_000_000), "InvalidAuthHeader"),
        "no issuer": (issuer.mint(iss=""), "NoAuthProvider"),
    }
    for name, (token, code) in cases.items():
        status, body = query(auth_app.server, "whoami:me", token)
        assert (status, body.get("code")) == (401, code), (name, body)
    status, body = query(auth_app.server, "whoami:me", issuer.mint(aud="not-convex"))
    assert body["message"].startswith("No auth provider found matching the given token.")
    assert f"OIDC(domain={issuer.url}, app_id=convex)" in body["message"]
    # A refused token never runs the function as someone else, nor breaks the server.
    assert query(auth_app.server, "whoami:me", issuer.mint())[1]["value"]["subject"] == "user-1"


def test_a_custom_jwt_provider_with_a_data_jwks(
    auth_app: ConvexApp, custom_issuer: TestIssuer
) -> None:
    token = custom_issuer.mint(
        "cu-1", key="ec", aud="whatever", properties={"id": "p9", "tier": {"name": "gold"}}
    )
    status, body = query(auth_app.server, "whoami:me", token)
    assert status == 200, body
    assert body["value"] == {
        "tokenIdentifier": f"{CUSTOM_ISSUER}|cu-1",
        "subject": "cu-1",
        "issuer": CUSTOM_ISSUER,
        "properties.id": "p9",
        "properties.tier.name": "gold",
    }
    status, body = query(auth_app.server, "whoami:me", custom_issuer.mint(key="ec", lifetime=-60))
    assert (status, body["code"]) == (401, "InvalidAuthHeader")
    assert body["message"].startswith("Could not validate token: Token expired")


def test_actions_nested_calls_and_request_metadata_see_the_user_scheduled_jobs_do_not(
    auth_app: ConvexApp, issuer: TestIssuer
) -> None:
    token = issuer.mint("user-7")
    status, body = query(auth_app.server, "whoami:fromAction", token, kind="action")
    assert status == 200, body
    for part in ("action", "query", "mutation"):
        assert body["value"][part]["tokenIdentifier"] == f"{issuer.url}|user-7", part
    status, body = query(auth_app.server, "whoami:authToken", token, kind="mutation")
    assert body["value"] == token
    query(auth_app.server, "whoami:scheduleRecord", token, kind="mutation")

    def scheduled() -> Any:
        response = httpx.post(
            f"{auth_app.server.url}/api/query",
            json={"path": "whoami:seen", "args": {"where": "scheduled"}, "format": "json"},
            timeout=30,
        )
        return response.json()["value"]

    assert eventually(scheduled) == [None]  # scheduled functions run with no identity


def test_http_actions_get_the_user_or_a_throwing_get_user_identity(
    auth_app: ConvexApp, issuer: TestIssuer
) -> None:
    server = auth_app.server
    token = issuer.mint("user-3")
    for base in (server.site_url, f"{server.url}/http"):
        answer = httpx.get(f"{base}/whoami", timeout=30).json()
        assert answer == {"identity": None, "nested": None}
        answer = httpx.get(
            f"{base}/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).json()
        assert answer["identity"]["subject"] == "user-3"
        assert answer["nested"]["subject"] == "user-3"
        # A token that does not verify does not fail the request: the action decides.
        response = httpx.get(
            f"{base}/whoami",
            headers={"Authorization": f"Bearer {issuer.mint(aud='other')}"},
            timeout=30,
        )
        assert response.status_code == 200
        assert response.json()["error"].startswith("No auth provider found matching")


def test_an_admin_acting_as_a_user_still_works(auth_app: ConvexApp) -> None:
    out = auth_app.cli("run", "whoami:me", "--identity", '{"subject": "s1", "issuer": "i1"}')
    assert orjson.loads(out.stdout)["tokenIdentifier"] == "i1|s1"


# -- the sync protocol -------------------------------------------------------------------


def test_the_pypi_websocket_client_sends_its_token(auth_app: ConvexApp, issuer: TestIssuer) -> None:
    with pypi_client(auth_app.server.url, "ws") as client:
        assert client.call("query", "whoami:me") == {"value": None}
        client.call("setAuth", "", {"token": issuer.mint("py-ws")})
        assert client.call("query", "whoami:me")["value"]["subject"] == "py-ws"


async def test_convex_client_refreshes_its_token_when_the_server_ends_an_expired_one(
    auth_app: ConvexApp, issuer: TestIssuer, node: str, js_dir: Path
) -> None:
    first = issuer.mint("user-r", version=1, lifetime=6)
    first_exp = jwt.decode(first, options={"verify_signature": False})["exp"]
    current = {"token": first}
    async with NodeClient.start(node, js_dir, auth_app.server.url) as client:
        client.set_auth(lambda force: current["token"])
        client.subscribe("me", "whoami:me")
        await client.update_until("me", lambda v: v is not None and v["version"] == 1)
        await client.next_event(lambda e: e["event"] == "authChange" and e["isAuthenticated"])
        # The client keeps the token it has (its refetch gave the same one); at `exp` the
        # server ends that identity, the client asks for a new token and every query re-runs.
        current["token"] = issuer.mint("user-r", version=2)
        value = await client.update_until(
            "me", lambda v: v is not None and v["version"] == 2, timeout=30
        )
        assert time.time() >= first_exp  # not before: the server ended it at exp
        assert value["subject"] == "user-r"


async def test_convex_client_is_signed_out_when_no_new_token_comes(
    auth_app: ConvexApp, issuer: TestIssuer, node: str, js_dir: Path
) -> None:
    token = issuer.mint("user-x", lifetime=5)
    calls = []

    def provide(force: bool) -> str | None:
        calls.append(force)
        return token if len(calls) <= 2 else None

    async with NodeClient.start(node, js_dir, auth_app.server.url) as client:
        client.set_auth(provide)
        client.subscribe("me", "whoami:me")
        await client.update_until("me", lambda v: v is not None and v["subject"] == "user-x")
        await client.next_event(lambda e: e["event"] == "authChange" and e["isAuthenticated"])
        await client.next_event(
            lambda e: e["event"] == "authChange" and not e["isAuthenticated"], timeout=30
        )
        assert await client.update_until("me", lambda v: v is None) is None


async def test_bad_tokens_end_only_their_own_session(
    auth_app: ConvexApp, issuer: TestIssuer, node: str, js_dir: Path
) -> None:
    url = auth_app.server.url.replace("http://", "ws://") + "/api/1.51.0/sync"
    async with NodeClient.start(node, js_dir, auth_app.server.url) as bystander:
        bystander.set_auth(lambda force: issuer.mint("bystander"))
        bystander.subscribe("me", "whoami:me")
        await bystander.update_until("me", lambda v: v is not None)
        for token, says in (
            ("x" * (2 * 1024 * 1024), "at most"),
            ("a.b.c", "Could not parse JWT payload"),
            (issuer.unsigned(), "Could not verify OIDC token claim"),
            (issuer.mint(aud="nope"), "No auth provider found"),
        ):
            message = await _authenticate_raw(url, token)
            assert message["type"] == "AuthError", message
            assert message["authUpdateAttempted"] is True
            assert says in message["error"]
        # The bystander's session is untouched: it still gets updates as itself.
        await bystander.mutation("whoami:addNote", {"body": "still here"})
        bystander.subscribe("notes", "whoami:myNotes")
        assert "still here" in await bystander.update_until(
            "notes", lambda v: v is not None and "still here" in v
        )


async def _authenticate_raw(url: str, token: str) -> dict[str, Any]:
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(
            orjson.dumps(
                {
                    "type": "Connect",
                    "sessionId": "00000000-0000-4000-8000-000000000000",
                    "connectionCount": 0,
                    "lastCloseReason": None,
                }
            ).decode()
        )
        await ws.send(
            orjson.dumps(
                {"type": "Authenticate", "baseVersion": 0, "tokenType": "User", "value": token}
            ).decode()
        )
        async with asyncio.timeout(20):
            while True:
                message = orjson.loads(await ws.recv())
                if message["type"] != "Ping":
                    return message  # type: ignore[no-any-return]


# -- keys that go bad ---------------------------------------------------------------------


def test_cached_keys_keep_working_while_the_issuer_hangs(
    auth_app: ConvexApp, issuer: TestIssuer
) -> None:
    server = auth_app.server
    assert query(server, "whoami:me", issuer.mint("before"))[0] == 200  # keys cached
    issuer.mode = "hang"
    try:
        time.sleep(6)  # past the unknown-kid cooldown: the next one waits for a refetch
        started = time.monotonic()
        status, body = query(server, "whoami:me", issuer.mint(kid="brand-new"))
        assert (status, body["code"]) == (401, "Unauthenticated")
        assert time.monotonic() - started < 15  # bounded by the fetch timeout
        status, body = query(server, "whoami:me", issuer.mint("during"))
        assert (status, body["value"]["subject"]) == (200, "during")
    finally:
        issuer.mode = "ok"
