"""User authentication for Python functions: `convex/auth_config.py` (the twin of
auth.config.ts) pushed with `bayou deploy`, and `ctx.auth.get_user_identity()` returning a
typed `UserIdentity` to calls carrying the tests' issuer's tokens."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.auth.issuer import TestIssuer
from tests.compat.apps.clients import pypi_client
from tests.compat.conftest import _BAYOU, BayouServer, run_cli, start_server

pytestmark = pytest.mark.compat
PY_APP = Path(__file__).parent.parent / "auth" / "py_app"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BayouServer]:
    server = start_server(tmp_path_factory.mktemp("py-auth") / "data")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("py-auth-app") / "app"
    shutil.copytree(PY_APP, work, ignore=shutil.ignore_patterns("__pycache__"))
    return work


def bayou(server: BayouServer, cwd: Path, *args: str, check: bool = True) -> Any:
    return run_cli("bayou", _BAYOU, list(args), cwd=cwd, server=server, check=check)


def call(server: BayouServer, kind: str, path: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{server.url}/api/{kind}",
        json={"path": path, "args": {}, "format": "json"},
        headers=headers,
        timeout=30,
    )
    return response.json()


def test_auth_config_py_needs_its_variables_then_deploys_its_providers(
    server: BayouServer, app_dir: Path, issuer: TestIssuer
) -> None:
    refused = bayou(server, app_dir, "deploy", check=False)
    assert refused.returncode != 0
    assert "Environment variable TEST_OIDC_ISSUER is used in auth config file" in (
        refused.stdout + refused.stderr
    )
    bayou(server, app_dir, "env", "set", "TEST_OIDC_ISSUER", issuer.url)
    bayou(server, app_dir, "deploy")
    hashes = httpx.post(
        f"{server.url}/api/get_config_hashes",
        json={},
        headers={"Authorization": f"Convex {server.admin_key}"},
        timeout=30,
    ).json()
    assert hashes["config"]["authInfo"] == [{"domain": issuer.url, "applicationID": "convex"}]


def test_python_functions_get_a_typed_user_identity(
    server: BayouServer, app_dir: Path, issuer: TestIssuer
) -> None:
    token = issuer.mint(
        "py-user", email="py@example.com", email_verified=False, given_name="Py", role="editor"
    )
    assert call(server, "query", "whoami:me", None)["value"] is None
    assert call(server, "query", "whoami:profile", token)["value"] == {
        "is_user_identity": True,
        "token_identifier": f"{issuer.url}|py-user",
        "subject": "py-user",
        "issuer": issuer.url,
        "email": "py@example.com",
        "email_verified": False,
        "given_name": "Py",
        "nickname": None,
        "role": "editor",
        "has_missing": False,
    }
    answer = call(server, "action", "whoami:from_action", token)["value"]
    assert answer["action"] == answer["query"]
    assert answer["action"]["tokenIdentifier"] == f"{issuer.url}|py-user"
    with pypi_client(server.url, "ws") as client:
        client.call("setAuth", "", {"token": token})
        assert client.call("query", "whoami:me")["value"]["email"] == "py@example.com"
    refused = call(server, "query", "whoami:me", issuer.mint(aud="other"))
    assert refused["code"] == "NoAuthProvider"
