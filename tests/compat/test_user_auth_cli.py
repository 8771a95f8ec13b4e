"""`bayou auth setup`, `bayou auth check` and the auth line of `bayou doctor`, against a
real server whose Python app trusts the tests' OIDC issuer."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bayou.auth.signing_keys import keys_match
from tests.auth.issuer import TestIssuer
from tests.compat.conftest import _BAYOU, BayouServer, run_cli, start_server

pytestmark = pytest.mark.compat
PY_APP = Path(__file__).parent.parent / "auth" / "py_app"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, issuer: TestIssuer
) -> Iterator[tuple[BayouServer, Path]]:
    base = tmp_path_factory.mktemp("auth-cli")
    server = start_server(base / "data")
    try:
        work = base / "app"
        shutil.copytree(PY_APP, work, ignore=shutil.ignore_patterns("__pycache__"))
        run_cli(
            "bayou", _BAYOU, ["env", "set", "TEST_OIDC_ISSUER", issuer.url], cwd=work, server=server
        )
        run_cli("bayou", _BAYOU, ["deploy"], cwd=work, server=server)
        yield server, work
    finally:
        server.stop()


def bayou(server: tuple[BayouServer, Path], *args: str, check: bool = True) -> Any:
    return run_cli("bayou", _BAYOU, list(args), cwd=server[1], server=server[0], check=check)


def env(server: tuple[BayouServer, Path]) -> dict[str, str]:
    out = bayou(server, "env", "list").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_auth_setup_sets_convex_auth_keys_once(server: tuple[BayouServer, Path]) -> None:
    first = bayou(server, "auth", "setup", "--site-url", "http://localhost:3000")
    assert "✔ Set JWT_PRIVATE_KEY" in first.stdout
    assert "✔ Set SITE_URL=http://localhost:3000" in first.stdout
    variables = env(server)
    private_key, jwks = variables["JWT_PRIVATE_KEY"], variables["JWKS"]
    assert private_key.startswith("-----BEGIN PRIVATE KEY----- ") and "\n" not in private_key
    assert json.loads(jwks)["keys"][0]["use"] == "sig"
    assert keys_match(private_key, jwks)

    # Idempotent: the keys stay, SITE_URL follows the flag.
    again = bayou(server, "auth", "setup", "--site-url", "http://localhost:5173")
    assert "already set (kept" in again.stdout
    assert "✔ Set SITE_URL=http://localhost:5173" in again.stdout
    variables = env(server)
    assert (variables["JWT_PRIVATE_KEY"], variables["JWKS"]) == (private_key, jwks)
    assert variables["SITE_URL"] == "http://localhost:5173"

    rotated = bayou(server, "auth", "setup", "--rotate")
    assert "✔ Replaced JWT_PRIVATE_KEY" in rotated.stdout
    assert "SITE_URL is already http://localhost:5173" in rotated.stdout
    variables = env(server)
    assert variables["JWT_PRIVATE_KEY"] != private_key
    assert keys_match(variables["JWT_PRIVATE_KEY"], variables["JWKS"])

    # A JWKS that does not match the private key is refused, not papered over.
    bayou(server, "env", "set", "JWKS", jwks)
    broken = bayou(server, "auth", "setup", check=False)
    assert broken.returncode == 1
    assert "do not make a matching pair" in broken.stderr
    assert "--rotate" in broken.stderr


def test_auth_check_says_what_is_wrong(
    server: tuple[BayouServer, Path], issuer: TestIssuer
) -> None:
    ok = bayou(server, "auth", "check", "--token", issuer.mint("checked"))
    assert f"[ok  ] provider OIDC(domain={issuer.url}, app_id=convex): discovery ok" in ok.stdout
    assert f"[ok  ] token: valid: tokenIdentifier '{issuer.url}|checked'" in ok.stdout

    cases = {
        "audience mismatch": issuer.mint(aud="other-app"),
        "issuer mismatch": issuer.mint(iss="https://elsewhere.example.com"),
        "expired": issuer.mint(lifetime=-600),
    }
    for says, token in cases.items():
        out = bayou(server, "auth", "check", "--token", token, check=False)
        assert out.returncode == 1, out.stdout
        assert says in out.stdout, (says, out.stdout)
    # OIDC verification does not judge `iat`: a skewed clock is reported, not failed.
    out = bayou(server, "auth", "check", "--token", issuer.mint(iat=int(time.time()) + 300))
    assert "[note] clock skew: the token's iat is " in out.stdout
    out = bayou(server, "auth", "check", "--token", issuer.mint(aud="other-app"), check=False)
    assert "refused: NoAuthProvider" in out.stdout


def test_auth_check_and_doctor_report_a_broken_issuer(
    server: tuple[BayouServer, Path], issuer: TestIssuer
) -> None:
    try:
        issuer.mode = "hang"
        out = bayou(server, "auth", "check", "--timeout", "1", check=False)
        assert out.returncode == 1
        assert f"unreachable JWKS {issuer.url}/jwks: timed out after 1 s" in out.stdout
        issuer.mode = "ok"
        issuer.discovery_issuer = "https://not-the-domain.example.com"
        out = bayou(server, "auth", "check", check=False)
        assert "issuer mismatch" in out.stdout
        doctor = bayou(server, "doctor", "--url", server[0].url, check=False)
        assert "[FAIL] auth: tokens of some provider cannot verify" in doctor.stdout
        assert "issuer mismatch" in doctor.stdout
    finally:
        issuer.mode = "ok"
        issuer.discovery_issuer = None
    doctor = bayou(server, "doctor", "--url", server[0].url, check=False)
    assert "[ok  ] auth: every provider's keys answer" in doctor.stdout
