"""Verifying user tokens — `Authorization: Bearer <jwt>` and the sync protocol's
`Authenticate` — against the deployment's providers, as Convex does (db-semantics.md §9).

1. The token's payload is read without verification to choose the provider: the first
   whose issuer is the token's `iss` and whose `applicationID` (if any) is in its `aud`.
   None → `NoAuthProvider`.
2. OIDC: `<iss>/.well-known/openid-configuration` names the issuer and its JWKS
   (`AuthProviderDiscoveryFailed` when that fails); the token must be signed RS256 or
   EdDSA by a key of that set, be issued by the discovered issuer for exactly the
   provider's `applicationID`, and not have expired (no leeway). Any failure is
   `Unauthenticated`, with Convex's one message.
3. Custom JWT: the provider's JWKS (a URL or a `data:` URI); the token must name a key
   (`kid`) of that set and be signed with the provider's algorithm; `exp`, `nbf` and `iat`
   are checked with 5 seconds of leeway; `sub`, `iss` and `exp` are required. Failures are
   `InvalidAuthHeader`, with Convex's messages.

Signatures are checked by PyJWT (`cryptography`); keys and discovery documents come from a
`DocumentCache` (bounded fetches, cached, refreshed once when a token names an unknown key).
Every refusal is a `BayouError` (HTTP 401 unless said otherwise); nothing here lets a
token through that one of these checks refused.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from bayou.auth import user_claims
from bayou.auth.documents import JWKS_TYPES, DocumentCache, FetchError
from bayou.auth.providers import Provider, no_provider_message, parse_providers, with_scheme
from bayou.errors import BadRequest, BayouError, Unauthenticated

if TYPE_CHECKING:  # PyJWT (and its share of cryptography) loads with the first token
    import jwt

MAX_TOKEN_BYTES = 64 * 1024
OIDC_ALGORITHMS = ("RS256", "EdDSA")
CUSTOM_JWT_LEEWAY_S = 5

UNPARSABLE = (
    "Could not parse JWT payload. Check that the token is a valid JWT format with three "
    "base64-encoded parts separated by dots."
)
MISSING_ISSUER = (
    "Missing issuer claim ('iss') in JWT payload. The JWT must include an 'iss' claim that "
    "matches one of your configured auth providers."
)
NOT_AN_ID_TOKEN = "Could not parse as OIDC ID token. Token might not be an OIDC-compliant JWT."
OIDC_REFUSED = (
    "Could not verify OIDC token claim. Check that the token signature is valid and the token "
    "hasn't expired."
)
BAD_CLAIMS = (
    "Could not verify token claim. Check that the JWT contains valid claims and matches your "
    "auth provider configuration."
)
MISSING_AUDIENCE = (
    "Missing audience claim ('aud') in JWT payload. The JWT must include an 'aud' claim that "
    "matches your configured application ID."
)


@dataclass(frozen=True, slots=True)
class VerifiedUser:
    """A verified token: the identity's attributes, when it expires, and the token."""

    attributes: dict[str, Any]
    expires_at: float  # seconds since the epoch
    token: str


@dataclass(frozen=True, slots=True)
class _Parsed:
    header: dict[str, Any]
    claims: dict[str, Any]


def invalid(message: str) -> Unauthenticated:
    return Unauthenticated(message, code="InvalidAuthHeader")


class UserTokenVerifier:
    """Verifies user tokens against the providers `providers()` returns (the deployed
    auth config, as JSON); one per backend, sharing its key cache across requests."""

    def __init__(
        self,
        providers: Callable[[], Sequence[dict[str, Any]]],
        *,
        documents: DocumentCache | None = None,
        clock: Callable[[], float] = time.time,
        redact: Callable[[], bool] = lambda: False,
    ) -> None:
        self._providers = providers
        self.documents = documents or DocumentCache()
        self.clock = clock
        self.redact = redact
        self._parsed_for: tuple[Sequence[dict[str, Any]], tuple[Provider, ...]] | None = None

    def providers(self) -> tuple[Provider, ...]:
        raw = self._providers()
        if self._parsed_for is None or self._parsed_for[0] is not raw:
            self._parsed_for = (raw, parse_providers(raw))
        return self._parsed_for[1]

    async def verify(self, token: str) -> VerifiedUser:
        """The user `token` names; raises a `BayouError` with Convex's code when refused."""
        if len(token) > MAX_TOKEN_BYTES:
            raise invalid(
                f"The token is {len(token)} bytes long; a token may have at most "
                f"{MAX_TOKEN_BYTES} bytes. Send the JWT your auth provider issued."
            )
        parsed = parse_unverified(token)
        issuer = parsed.claims.get("iss")
        if not isinstance(issuer, str):
            raise invalid(MISSING_ISSUER)
        providers = self.providers()
        provider = select_provider(providers, issuer, audiences(parsed.claims))
        if provider is None:
            raise Unauthenticated(
                no_provider_message(providers, redact=self.redact()), code="NoAuthProvider"
            )
        if provider.kind == "oidc":
            return await self._verify_oidc(token, parsed, provider)
        return await self._verify_custom_jwt(token, parsed, provider)

    async def aclose(self) -> None:
        await self.documents.aclose()

    # -- OIDC ---------------------------------------------------------------------------

    async def _verify_oidc(self, token: str, parsed: _Parsed, provider: Provider) -> VerifiedUser:
        issuer = parsed.claims["iss"]
        discovered_issuer, jwks_uri = await self.discover(issuer)
        if user_claims.oidc_claims_malformed(parsed.claims):
            raise invalid(NOT_AN_ID_TOKEN)
        alg = parsed.header.get("alg")
        if alg not in OIDC_ALGORITHMS:
            raise Unauthenticated(OIDC_REFUSED)
        key = await self._oidc_key(issuer, jwks_uri, parsed.header)
        if key is None or not _signature_ok(token, key, alg):
            raise Unauthenticated(OIDC_REFUSED)
        claims = parsed.claims
        if claims["iss"] != discovered_issuer:
            raise Unauthenticated(OIDC_REFUSED)
        # Exactly one audience, the provider's: Convex's verifier refuses any other.
        if set(audiences(claims)) != {provider.application_id}:
            raise Unauthenticated(OIDC_REFUSED)
        if self.clock() >= claims["exp"]:
            raise Unauthenticated(OIDC_REFUSED)
        return VerifiedUser(user_claims.oidc_attributes(claims), float(claims["exp"]), token)

    async def discover(self, issuer: str) -> tuple[str, str]:
        """The issuer and JWKS URL that `<issuer>/.well-known/openid-configuration` names."""
        base = with_scheme(issuer)
        url = base + ("" if base.endswith("/") else "/") + ".well-known/openid-configuration"
        try:
            document = await self.documents.get(url, _discovery, purpose="discovery")
        except FetchError as e:
            raise _discovery_failed(issuer, e) from None
        if document["issuer"] != issuer:
            raise BadRequest(
                f"Auth provider discovery of {issuer} failed: {url} names the issuer "
                f"{document['issuer']!r}, not the token's issuer {issuer!r}",
                code="AuthProviderDiscoveryFailed",
            )
        return document["issuer"], document["jwks_uri"]

    async def _oidc_key(
        self, issuer: str, jwks_uri: str, header: dict[str, Any]
    ) -> jwt.PyJWK | None:
        kid = header.get("kid")
        for refresh in (False, True):
            try:
                keys = await self.documents.get(
                    jwks_uri, _jwks, accept=JWKS_TYPES, refresh=refresh, purpose="jwks"
                )
            except FetchError as e:
                raise _discovery_failed(issuer, e) from None
            if kid is not None:
                candidates = [k for k in keys if k.key_id == kid and _signs(k)]
            else:
                candidates = [k for k in keys if _signs(k) and k.algorithm_name == header["alg"]]
            if candidates or kid is None:
                break
        if len(candidates) != 1 or candidates[0].algorithm_name != header["alg"]:
            return None
        return candidates[0]

    # -- custom JWT ---------------------------------------------------------------------

    async def _verify_custom_jwt(
        self, token: str, parsed: _Parsed, provider: Provider
    ) -> VerifiedUser:
        assert provider.jwks is not None and provider.algorithm is not None
        kid = parsed.header.get("kid")
        key = await self._custom_key(provider, kid)
        if (
            key is None
            or parsed.header.get("alg") != provider.algorithm
            or (key.algorithm_name != provider.algorithm)
            or not _signature_ok(token, key, provider.algorithm)
        ):
            raise invalid(self._undecodable(kid))
        claims = parsed.claims
        if not isinstance(claims.get("iss"), str):
            raise invalid(MISSING_ISSUER)
        token_issuer = claims["iss"]
        if provider.issuer.rstrip("/") != with_scheme(token_issuer).rstrip("/"):
            raise invalid(f"Invalid issuer: {token_issuer} != {provider.issuer}")
        if provider.application_id is not None:
            if "aud" not in claims:
                raise invalid(MISSING_AUDIENCE)
            if provider.application_id not in audiences(claims):
                listed = ", ".join(orjson.dumps(a).decode() for a in audiences(claims))
                raise invalid(f"Invalid audience: {provider.application_id} not in [{listed}]")
        self._check_times(claims)
        if not isinstance(claims.get("sub"), str) or not _is_number(claims.get("exp")):
            raise invalid(BAD_CLAIMS)
        return VerifiedUser(user_claims.custom_jwt_attributes(claims), float(claims["exp"]), token)

    async def _custom_key(self, provider: Provider, kid: Any) -> jwt.PyJWK | None:
        assert provider.jwks is not None
        if not isinstance(kid, str):
            return None
        for refresh in (False, True):
            try:
                keys = await self.documents.get(
                    provider.jwks, _jwks, accept=JWKS_TYPES, refresh=refresh, purpose="jwks"
                )
            except FetchError as e:
                raise invalid(_jwks_fetch_message(provider.jwks, e)) from None
            for key in keys:
                if key.key_id == kid:
                    return key
            if provider.jwks.startswith("data:"):
                break
        return None

    def _undecodable(self, kid: Any) -> str:
        if not isinstance(kid, str):
            if self.redact():
                return (
                    "Could not decode token. The JWT is missing a 'kid' (key ID) header, or the "
                    "JWT signature is invalid."
                )
            return "Could not decode token. JWT may be missing a 'kid' (key ID) header."
        if self.redact():
            return (
                "Could not decode token. The JWT's 'kid' (key ID) header doesn't match any key "
                "in the provider's JWKS, or the JWT signature is invalid."
            )
        return (
            f"Could not decode token. The JWT's 'kid' (key ID) header is '{kid}', does this key "
            "match any key in the provider's JWKS?"
        )

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = int(self.clock())
        exp, nbf, iat = (_number(claims, c) for c in ("exp", "nbf", "iat"))
        problem = None
        if exp is not None and now - exp > CUSTOM_JWT_LEEWAY_S:
            problem = f"Token expired {int(now - exp)} seconds ago"
        elif nbf is not None and nbf - now > CUSTOM_JWT_LEEWAY_S:
            problem = f"Token will be valid in {int(nbf - now)} seconds"
        elif iat is not None and iat - now > CUSTOM_JWT_LEEWAY_S:
            problem = f"Token will be valid in {int(iat - now)} seconds"
        if problem is not None:
            raise invalid(f"Could not validate token: {problem}")


# -- parsing --------------------------------------------------------------------------------


def parse_unverified(token: str) -> _Parsed:
    """The header and claims of a compact JWS, unverified; `InvalidAuthHeader` if it is
    not one (three base64url parts, JSON objects, registered claims of their types)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise invalid(UNPARSABLE)
    header, claims = _json_part(parts[0]), _json_part(parts[1])
    if header is None or claims is None or not _registered_claims_ok(claims):
        raise invalid(UNPARSABLE)
    return _Parsed(header, claims)


def _json_part(part: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _registered_claims_ok(claims: dict[str, Any]) -> bool:
    for claim in ("iss", "sub", "jti"):
        if claim in claims and not isinstance(claims[claim], str):
            return False
    aud = claims.get("aud")
    if aud is not None and not (
        isinstance(aud, str) or (isinstance(aud, list) and all(isinstance(a, str) for a in aud))
    ):
        return False
    return all(claims.get(c) is None or _is_number(claims[c]) for c in ("exp", "nbf", "iat"))


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return list(aud) if isinstance(aud, list) else []


def select_provider(
    providers: Sequence[Provider], issuer: str, token_audiences: Sequence[str]
) -> Provider | None:
    return next((p for p in providers if p.matches(issuer, token_audiences)), None)


def _number(claims: dict[str, Any], claim: str) -> float | None:
    value = claims.get(claim)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- keys and documents ---------------------------------------------------------------------


def _discovery(document: Any) -> dict[str, str]:
    if not isinstance(document, dict):
        raise FetchError("format", "the discovery document is not a JSON object")
    for field in ("issuer", "jwks_uri"):
        if not isinstance(document.get(field), str):
            raise FetchError("format", f"the discovery document has no {field!r}")
    return {"issuer": document["issuer"], "jwks_uri": document["jwks_uri"]}


def _jwks(document: Any) -> tuple[jwt.PyJWK, ...]:
    import jwt

    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise FetchError("format", 'the JWKS is not a JSON object with a "keys" list')
    try:
        return tuple(jwt.PyJWKSet.from_dict(document))
    except jwt.PyJWTError as e:
        raise FetchError("format", f"the JWKS has no usable key ({e})") from None


def _signs(key: jwt.PyJWK) -> bool:
    return key.public_key_use in (None, "sig")


def _signature_ok(token: str, key: jwt.PyJWK, algorithm: str) -> bool:
    import jwt

    try:
        jwt.api_jws.PyJWS().decode_complete(token, key=key.key, algorithms=[algorithm])
    except (jwt.PyJWTError, ValueError, TypeError):
        return False
    return True


def _discovery_failed(issuer: str, error: FetchError) -> BayouError:
    message = f"Auth provider discovery of {issuer} failed"
    if error.kind == "status":
        message += f": {error.reason.removeprefix('HTTP ')} {error.body}".rstrip()
    else:
        message += f": {error.reason}"
    return BadRequest(message, code="AuthProviderDiscoveryFailed")


def _jwks_fetch_message(uri: str, error: FetchError) -> str:
    if uri.startswith("data:") and error.kind == "format" and "data: URI" in error.reason:
        return (
            "Invalid JWKS data URL. Check that the data URL is properly formatted and contains "
            "valid base64-encoded JSON."
        )
    if error.kind in ("network", "status"):
        return (
            f"Could not fetch JWKS from URL '{uri}': {error.reason}. Check that the URL is "
            "correct and accessible."
        )
    if error.kind == "content_type":
        return (
            f"Invalid Content-Type '{error.reason}' when fetching JWKS from '{uri}'. Expected "
            "'application/json' or 'application/jwk-set+json'."
        )
    return (
        f"Invalid JWKS response body from '{uri}'. The response is not valid JSON or doesn't "
        "match the expected JWKS format."
    )
