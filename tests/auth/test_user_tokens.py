"""User-token verification against OIDC and custom-JWT providers: what is accepted, and
each refusal with Convex's code and message (the issuer is tests/auth/issuer.py, reached
in-process through httpx's ASGI transport)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import pytest

from bayou.auth.documents import DocumentCache
from bayou.auth.user_tokens import (
    MAX_TOKEN_BYTES,
    MISSING_ISSUER,
    NOT_AN_ID_TOKEN,
    OIDC_REFUSED,
    UNPARSABLE,
    UserTokenVerifier,
)
from bayou.errors import BayouError
from tests.auth.issuer import TestIssuer

ISSUER = "http://issuer.test"


class Clock:
    """A monotonic clock the test moves (the cache's idea of time)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> TestIssuer:
    return TestIssuer(ISSUER)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def verifier_for(
    issuer: TestIssuer,
    providers: list[dict[str, Any]],
    clock: Clock | None = None,
    *,
    timeout: float = 5.0,
    redact: bool = False,
) -> UserTokenVerifier:
    documents = DocumentCache(
        transport=httpx.ASGITransport(app=issuer.app()),
        timeout=timeout,
        clock=clock or Clock(),
    )
    return UserTokenVerifier(lambda: providers, documents=documents, redact=lambda: redact)


def oidc(application_id: str = "convex", domain: str = ISSUER) -> dict[str, Any]:
    return {"domain": domain, "applicationID": application_id}


def custom(
    jwks: str, algorithm: str = "ES256", application_id: str | None = None
) -> dict[str, Any]:
    return {
        "type": "customJwt",
        "issuer": ISSUER,
        "jwks": jwks,
        "algorithm": algorithm,
        "applicationID": application_id,
    }


async def refused(verifier: UserTokenVerifier, token: str) -> BayouError:
    with pytest.raises(BayouError) as caught:
        await verifier.verify(token)
    return caught.value


# -- OIDC ---------------------------------------------------------------------------------


async def test_an_oidc_token_gives_the_user_identity_with_convex_names(
    issuer: TestIssuer,
) -> None:
    verifier = verifier_for(issuer, [oidc()])
    token = issuer.mint(
        "user-1",
        name="Ada Lovelace",
        given_name="Ada",
        email="ada@example.com",
        email_verified=True,
        picture="https://example.com/ada.png",
        locale="en",
        birthdate="1815-12-10",
        address={"formatted": "London"},
        updated_at=0,
        org={"id": "o1"},
        roles=["admin"],
        jti="j1",
        nbf=int(time.time()) - 10,
        nonce="n",
        azp="convex",
    )
    user = await verifier.verify(token)
    assert user.attributes == {
        "tokenIdentifier": f"{ISSUER}|user-1",
        "subject": "user-1",
        "issuer": ISSUER,
        "name": "Ada Lovelace",
        "givenName": "Ada",
        "email": "ada@example.com",
        "emailVerified": True,
        "pictureUrl": "https://example.com/ada.png",
        "language": "en",
        "birthday": "1815-12-10",
        "address": "London",
        "updatedAt": "1970-01-01T00:00:00+00:00",
        "org": {"id": "o1"},  # OIDC keeps nested claims whole
        "roles": ["admin"],
    }
    assert user.token == token
    assert user.expires_at == pytest.approx(time.time() + 3600, abs=5)


async def test_eddsa_tokens_verify_too(issuer: TestIssuer) -> None:
    verifier = verifier_for(issuer, [oidc()])
    user = await verifier.verify(issuer.mint("ed-user", key="ed"))
    assert user.attributes["subject"] == "ed-user"


async def test_the_first_matching_provider_verifies_the_token(issuer: TestIssuer) -> None:
    providers = [oidc("other-app"), oidc("convex")]
    user = await verifier_for(issuer, providers).verify(issuer.mint(aud="convex"))
    assert user.attributes["issuer"] == ISSUER


async def test_a_token_for_another_audience_or_issuer_has_no_provider(
    issuer: TestIssuer,
) -> None:
    verifier = verifier_for(issuer, [oidc()])
    for token in (issuer.mint(aud="someone-else"), issuer.mint(iss="https://evil.test")):
        error = await refused(verifier, token)
        assert (error.code, error.status) == ("NoAuthProvider", 401)
        assert error.message == (
            "No auth provider found matching the given token. Check that your JWT's issuer and "
            "audience match one of your configured providers: "
            f"[OIDC(domain={ISSUER}, app_id=convex)]"
        )


async def test_no_providers_and_redacted_errors_say_less(issuer: TestIssuer) -> None:
    error = await refused(verifier_for(issuer, []), issuer.mint())
    assert error.code == "NoAuthProvider"
    assert "(no providers configured)" in error.message
    error = await refused(verifier_for(issuer, [oidc("x")], redact=True), issuer.mint())
    assert error.message == "No auth provider found matching the given token"


async def test_an_issuer_without_scheme_or_with_a_trailing_slash_matches(
    issuer: TestIssuer,
) -> None:
    verifier = verifier_for(issuer, [oidc(domain=ISSUER + "/")])
    assert (await verifier.verify(issuer.mint())).attributes["subject"] == "user-1"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda i: i.mint(lifetime=-1), id="expired"),
        pytest.param(lambda i: i.mint(key="ec", kid="rsa-1"), id="bad-signature"),
        pytest.param(lambda i: i.mint(kid="no-such-key"), id="unknown-kid"),
        pytest.param(lambda i: i.unsigned(), id="alg-none"),
        pytest.param(lambda i: i.hs256_with_public_key(), id="hs256"),
        pytest.param(lambda i: i.mint(aud=["convex", "other"]), id="two-audiences"),
    ],
)
async def test_oidc_refusals_are_unauthenticated(issuer: TestIssuer, make: Any) -> None:
    error = await refused(verifier_for(issuer, [oidc()]), make(issuer))
    assert (error.code, error.message, error.status) == ("Unauthenticated", OIDC_REFUSED, 401)


async def test_a_key_signed_by_another_key_of_the_same_kid_is_refused(issuer: TestIssuer) -> None:
    token = issuer.mint()
    issuer.keys["rsa"] = TestIssuer().keys["rsa"]  # the issuer now publishes another key
    error = await refused(verifier_for(issuer, [oidc()]), token)
    assert error.code == "Unauthenticated"


async def test_an_unknown_kid_refetches_the_keys_once_within_the_cooldown(
    issuer: TestIssuer, clock: Clock
) -> None:
    verifier = verifier_for(issuer, [oidc()], clock)
    await verifier.verify(issuer.mint())
    assert issuer.jwks_fetches == 1
    # A key the issuer has just started using: found by refetching (the cooldown passed).
    issuer.published = {"rsa", "ed", "ec"}
    issuer.kids["ed"] = "ed-2"
    clock.now += 10
    assert (await verifier.verify(issuer.mint(key="ed"))).attributes["subject"] == "user-1"
    assert issuer.jwks_fetches == 2
    # Made-up key ids do not make the server hammer the issuer.
    for n in range(5):
        await refused(verifier, issuer.mint(kid=f"made-up-{n}"))
    assert issuer.jwks_fetches == 2


async def test_concurrent_first_tokens_share_one_fetch(issuer: TestIssuer) -> None:
    verifier = verifier_for(issuer, [oidc()])
    users = await asyncio.gather(*(verifier.verify(issuer.mint(f"u{n}")) for n in range(20)))
    assert len(users) == 20
    assert (issuer.discovery_fetches, issuer.jwks_fetches) == (1, 1)


async def test_discovery_must_name_the_token_issuer(issuer: TestIssuer) -> None:
    issuer.discovery_issuer = "https://somewhere.else"
    error = await refused(verifier_for(issuer, [oidc()]), issuer.mint())
    assert (error.code, error.status) == ("AuthProviderDiscoveryFailed", 400)
    assert error.message.startswith(f"Auth provider discovery of {ISSUER} failed")
    assert "https://somewhere.else" in error.message


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("garbage", "the response is not JSON"),
        ("error", "500 Internal Server Error boom"),
        ("html", "text/html"),
        ("hang", "timed out after 0.5 s"),
    ],
)
async def test_a_broken_jwks_is_a_clear_bounded_error(
    issuer: TestIssuer, mode: str, says: str
) -> None:
    issuer.mode = mode
    verifier = verifier_for(issuer, [oidc()], timeout=0.5)
    started = time.monotonic()
    error = await refused(verifier, issuer.mint())
    assert time.monotonic() - started < 3
    assert error.code == "AuthProviderDiscoveryFailed"
    assert says in error.message


async def test_cached_keys_keep_working_while_the_issuer_hangs(
    issuer: TestIssuer, clock: Clock
) -> None:
    verifier = verifier_for(issuer, [oidc()], clock, timeout=0.5)
    await verifier.verify(issuer.mint())
    issuer.mode = "hang"
    clock.now += 7 * 24 * 3600  # long past the keys' lifetime: renewed in the background
    started = time.monotonic()
    for _ in range(3):
        assert (await verifier.verify(issuer.mint())).attributes["subject"] == "user-1"
    # An unknown kid waits for one bounded refetch, then is refused; known keys still work.
    await refused(verifier, issuer.mint(kid="new-key"))
    assert (await verifier.verify(issuer.mint())).attributes["subject"] == "user-1"
    assert time.monotonic() - started < 3
    await verifier.aclose()


async def test_malformed_tokens_are_invalid_auth_headers(issuer: TestIssuer) -> None:
    verifier = verifier_for(issuer, [oidc()])
    good = issuer.mint()
    header, _payload, signature = good.split(".")
    for token in ("", "abc", "a.b", "a.b.c", f"{header}.bm90IGpzb24.{signature}", "é.é.é"):
        error = await refused(verifier, token)
        assert (error.code, error.message) == ("InvalidAuthHeader", UNPARSABLE)
    error = await refused(verifier, _without(issuer, "iss"))
    assert (error.code, error.message) == ("InvalidAuthHeader", MISSING_ISSUER)
    error = await refused(verifier, issuer.mint(iat="yesterday"))
    assert error.message == UNPARSABLE
    error = await refused(verifier, _without(issuer, "iat"))
    assert (error.code, error.message) == ("InvalidAuthHeader", NOT_AN_ID_TOKEN)


async def test_a_token_of_megabytes_is_refused_without_parsing(issuer: TestIssuer) -> None:
    verifier = verifier_for(issuer, [oidc()])
    huge = issuer.mint(padding="x" * (2 * 1024 * 1024))
    started = time.monotonic()
    error = await refused(verifier, huge)
    assert time.monotonic() - started < 0.5
    assert error.code == "InvalidAuthHeader"
    assert f"at most {MAX_TOKEN_BYTES}" in error.message
    assert issuer.discovery_fetches == 0


def _without(issuer: TestIssuer, claim: str) -> str:
    import jwt

    claims = issuer.claims()
    del claims[claim]
    return jwt.encode(claims, issuer.keys["rsa"], algorithm="RS256", headers={"kid": "rsa-1"})


# -- custom JWT ---------------------------------------------------------------------------


async def test_a_custom_jwt_with_a_data_uri_jwks_flattens_its_claims(issuer: TestIssuer) -> None:
    verifier = verifier_for(issuer, [custom(issuer.jwks_data_uri({"ec"}))])
    token = issuer.mint(
        "user-9",
        key="ec",
        aud="anything",
        properties={"id": "p1", "team": {"name": "red"}},
        email="u9@example.com",
        fva=[1, 2],
        jti="j",
        nbf=int(time.time()),
    )
    user = await verifier.verify(token)
    assert user.attributes == {
        "tokenIdentifier": f"{ISSUER}|user-9",
        "subject": "user-9",
        "issuer": ISSUER,
        "properties.id": "p1",
        "properties.team.name": "red",
        "email": "u9@example.com",
    }


async def test_a_custom_jwt_with_an_application_id_needs_it_in_aud(issuer: TestIssuer) -> None:
    verifier = verifier_for(issuer, [custom(issuer.jwks_data_uri({"ec"}), application_id="app")])
    assert (await verifier.verify(issuer.mint(key="ec", aud=["x", "app"]))).attributes
    error = await refused(verifier, issuer.mint(key="ec", aud="x"))
    assert error.code == "NoAuthProvider"
    assert "CustomJWT(issuer=http://issuer.test, app_id=app)" in error.message


async def test_custom_jwt_times_have_five_seconds_of_leeway(issuer: TestIssuer) -> None:
    verifier = verifier_for(issuer, [custom(issuer.jwks_data_uri({"ec"}))])
    assert await verifier.verify(issuer.mint(key="ec", lifetime=-3))
    error = await refused(verifier, issuer.mint(key="ec", lifetime=-60))
    assert error.code == "InvalidAuthHeader"
    assert re.fullmatch(r"Could not validate token: Token expired 6[01] seconds ago", error.message)
    error = await refused(verifier, issuer.mint(key="ec", nbf=int(time.time()) + 120))
    assert re.fullmatch(
        r"Could not validate token: Token will be valid in 1[12]\d seconds", error.message
    )


def _none_with_kid(issuer: TestIssuer) -> str:
    import base64
    import json

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'kid': 'ec-1'})}.{part(issuer.claims())}."


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda i: i.mint(key="ec", kid=None),
            "Could not decode token. JWT may be missing a 'kid' (key ID) header.",
        ),
        (
            lambda i: i.mint(key="ec", kid="nope"),
            "Could not decode token. The JWT's 'kid' (key ID) header is 'nope', does this key "
            "match any key in the provider's JWKS?",
        ),
        (
            lambda i: i.mint(key="rsa", kid="ec-1"),
            "Could not decode token. The JWT's 'kid' (key ID) header is 'ec-1', does this key "
            "match any key in the provider's JWKS?",
        ),
        (
            _none_with_kid,
            "Could not decode token. The JWT's 'kid' (key ID) header is 'ec-1', does this key "
            "match any key in the provider's JWKS?",
        ),
    ],
    ids=["no-kid", "unknown-kid", "wrong-algorithm", "alg-none"],
)
async def test_custom_jwt_refusals_say_which_key(
    issuer: TestIssuer, make: Any, message: str
) -> None:
    verifier = verifier_for(issuer, [custom(issuer.jwks_data_uri({"ec"}))])
    error = await refused(verifier, make(issuer))
    assert (error.code, error.message) == ("InvalidAuthHeader", message)


async def test_redacted_custom_jwt_errors_do_not_echo_the_kid(issuer: TestIssuer) -> None:
    verifier = verifier_for(issuer, [custom(issuer.jwks_data_uri({"ec"}))], redact=True)
    error = await refused(verifier, issuer.mint(key="ec", kid="secret-kid"))
    assert "secret-kid" not in error.message
    assert error.message.startswith("Could not decode token. The JWT's 'kid' (key ID) header")


async def test_custom_jwt_jwks_fetch_failures_say_why(issuer: TestIssuer) -> None:
    url = f"{ISSUER}/jwks"
    issuer.mode = "error"
    error = await refused(verifier_for(issuer, [custom(url, "RS256")]), issuer.mint())
    assert error.message == (
        f"Could not fetch JWKS from URL '{url}': HTTP 500 Internal Server Error. Check that the "
        "URL is correct and accessible."
    )
    issuer.mode = "html"
    error = await refused(verifier_for(issuer, [custom(url, "RS256")]), issuer.mint())
    assert error.message == (
        f"Invalid Content-Type 'text/html; charset=utf-8' when fetching JWKS from '{url}'. "
        "Expected 'application/json' or 'application/jwk-set+json'."
    )
    bad_uri = "data:application/json;base64,%%%"
    error = await refused(verifier_for(issuer, [custom(bad_uri)]), issuer.mint(key="ec"))
    assert error.message.startswith("Invalid JWKS data URL.")
    issuer.mode = "ok"
    assert await verifier_for(issuer, [custom(url, "RS256")]).verify(issuer.mint())


async def test_a_custom_jwt_without_subject_is_refused(issuer: TestIssuer) -> None:
    import jwt

    claims = issuer.claims()
    del claims["sub"]
    token = jwt.encode(claims, issuer.keys["ec"], algorithm="ES256", headers={"kid": "ec-1"})
    verifier = verifier_for(issuer, [custom(issuer.jwks_data_uri({"ec"}))])
    error = await refused(verifier, token)
    assert error.code == "InvalidAuthHeader"
    assert error.message.startswith("Could not verify token claim.")
