"""What is wrong with a deployment's user authentication, in words (`bayou auth check`,
`bayou doctor`): each provider's discovery document and keys fetched and looked at, and a
sample token taken apart and verified exactly as the server verifies it.

Findings name the problem: an unreachable or broken JWKS, an issuer that differs from
the configured one, a token for another audience or issuer, an expired token, clocks
that disagree.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from bayou.auth.documents import JSON_TYPES, JWKS_TYPES, media_type_ok, read_data_uri
from bayou.auth.providers import Provider, parse_provider, with_scheme
from bayou.auth.user_tokens import (
    CUSTOM_JWT_LEEWAY_S,
    OIDC_ALGORITHMS,
    UserTokenVerifier,
    audiences,
    parse_unverified,
)
from bayou.errors import BayouError

if TYPE_CHECKING:
    import httpx

SKEW_TOLERANCE_S = 5.0


@dataclass(frozen=True)
class Finding:
    """One line of the report: `ok` is True, False (something to fix) or None (a note)."""

    ok: bool | None
    subject: str
    detail: str


class _Unusable(Exception):
    """A document that could not be used; the message says why."""


@dataclass
class Diagnosis:
    """Checks against `providers` (the deployed auth config's JSON)."""

    providers: Sequence[dict[str, Any]]
    timeout: float = 5.0
    clock: Callable[[], float] = time.time
    transport: httpx.AsyncBaseTransport | None = None

    async def check_providers(self) -> list[Finding]:
        if not self.providers:
            return [
                Finding(
                    None,
                    "providers",
                    "none deployed (add convex/auth.config.ts, or auth_config.py for Python "
                    "functions, and deploy)",
                )
            ]
        import httpx

        async with httpx.AsyncClient(
            transport=self.transport, timeout=self.timeout, follow_redirects=False
        ) as client:
            findings = []
            for raw in self.providers:
                findings.extend(await self._check_provider(client, raw))
            return findings

    async def _check_provider(self, client: httpx.AsyncClient, raw: Any) -> list[Finding]:
        try:
            provider = parse_provider(raw)
        except BayouError as e:
            return [Finding(False, "provider", f"{raw!r} is invalid: {e.message}")]
        subject = f"provider {provider.describe()}"
        findings: list[Finding] = []
        try:
            if provider.kind == "oidc":
                detail = await self._check_oidc(client, provider, findings, subject)
            else:
                detail = await self._check_custom_jwt(client, provider, findings, subject)
        except _Unusable as e:
            findings.append(Finding(False, subject, str(e)))
            return findings
        findings.insert(0, Finding(True, subject, detail))
        return findings

    async def _check_oidc(
        self, client: httpx.AsyncClient, provider: Provider, findings: list[Finding], subject: str
    ) -> str:
        url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
        discovery = await self._fetch_json(client, url, JSON_TYPES, "discovery document", findings)
        if not isinstance(discovery, dict) or not isinstance(discovery.get("jwks_uri"), str):
            raise _Unusable(f"the discovery document at {url} has no jwks_uri")
        issuer = discovery.get("issuer")
        if not isinstance(issuer, str) or issuer.rstrip("/") != provider.issuer.rstrip("/"):
            raise _Unusable(
                f"issuer mismatch: {url} names the issuer {issuer!r}, auth.config says "
                f"{provider.issuer!r}; tokens carry the discovered issuer as `iss`, so make "
                "the provider's domain that issuer"
            )
        if issuer != provider.issuer:
            findings.append(Finding(None, subject, f"tokens must carry `iss` exactly {issuer!r}"))
        jwks_uri = discovery["jwks_uri"]
        keys = await self._keys(client, jwks_uri, findings)
        usable = [k for k in keys if k[0] in OIDC_ALGORITHMS and k[2] in (None, "sig")]
        if not usable:
            raise _Unusable(
                f"the JWKS at {jwks_uri} has no RS256 or EdDSA signing key (it has "
                f"{_list_keys(keys) or 'no usable key'}); Convex verifies OIDC tokens with "
                "those only"
            )
        return f"discovery ok (issuer {issuer}); JWKS {jwks_uri}: {_list_keys(usable)}"

    async def _check_custom_jwt(
        self, client: httpx.AsyncClient, provider: Provider, findings: list[Finding], subject: str
    ) -> str:
        assert provider.jwks is not None
        keys = await self._keys(client, provider.jwks, findings)
        usable = [k for k in keys if k[0] == provider.algorithm and k[1] is not None]
        where = "the data: URI" if provider.jwks.startswith("data:") else provider.jwks
        if not usable:
            raise _Unusable(
                f"the JWKS at {where} has no {provider.algorithm} key with a `kid` (it has "
                f"{_list_keys(keys) or 'no usable key'}); tokens must name their key"
            )
        return f"JWKS {where}: {_list_keys(usable)}"

    async def _keys(
        self, client: httpx.AsyncClient, url: str, findings: list[Finding]
    ) -> list[tuple[str, str | None, str | None]]:
        """(algorithm, kid, use) of each usable key of the JWKS at `url`."""
        import jwt

        document = await self._fetch_json(client, url, JWKS_TYPES, "JWKS", findings)
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise _Unusable(f'the JWKS at {_short(url)} is not an object with a "keys" list')
        keys = []
        for raw in document["keys"]:
            try:
                key = jwt.PyJWK(raw)
            except (jwt.PyJWTError, TypeError, ValueError):
                continue
            keys.append((key.algorithm_name, key.key_id, key.public_key_use))
        return keys

    async def _fetch_json(
        self,
        client: httpx.AsyncClient,
        url: str,
        accept: tuple[str, ...],
        what: str,
        findings: list[Finding],
    ) -> Any:
        import httpx

        if url.startswith("data:"):
            try:
                return orjson.loads(read_data_uri(url))
            except Exception as e:
                raise _Unusable(f"the {what} data: URI is not valid JSON ({e})") from None
        try:
            response = await client.get(url, headers={"Accept": accept[-1]})
        except httpx.TimeoutException:
            raise _Unusable(
                f"unreachable {what} {url}: timed out after {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as e:
            raise _Unusable(f"unreachable {what} {url}: {e or type(e).__name__}") from None
        self._note_skew(response.headers.get("date"), url, findings)
        if response.status_code != 200:
            raise _Unusable(
                f"{what} {url} answered HTTP {response.status_code} {response.reason_phrase}"
            )
        content_type = response.headers.get("content-type")
        if not media_type_ok(content_type, accept):
            raise _Unusable(
                f"{what} {url} has Content-Type {content_type!r}; it must be "
                + " or ".join(repr(t) for t in accept)
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise _Unusable(f"{what} {url} is not JSON") from None

    def _note_skew(self, date: str | None, url: str, findings: list[Finding]) -> None:
        skew = clock_skew(date, self.clock())
        if skew is not None and abs(skew) > SKEW_TOLERANCE_S:
            findings.append(Finding(False, "clock skew", describe_skew(skew, f"{url}'s server")))

    # -- a sample token -------------------------------------------------------------------

    async def check_token(self, token: str, verifier: UserTokenVerifier) -> list[Finding]:
        """Take `token` apart (issuer, audience, times) and verify it as the server does."""
        try:
            parsed = parse_unverified(token)
        except BayouError as e:
            return [Finding(False, "token", e.message)]
        claims = parsed.claims
        findings = [Finding(None, "token", describe_claims(claims, self.clock()))]
        findings.extend(self._matching(claims))
        times = self._times(claims)
        try:
            user = await verifier.verify(token)
        except BayouError as e:
            findings.extend(times)
            findings.append(Finding(False, "token", f"refused: {e.code}: {e.message}"))
        else:
            # Accepted all the same (OIDC does not judge `iat`): worth knowing, not failing.
            findings.extend(Finding(None, f.subject, f.detail) for f in times)
            findings.append(
                Finding(
                    True,
                    "token",
                    f"valid: tokenIdentifier {user.attributes['tokenIdentifier']!r}, expires "
                    f"{_relative(user.expires_at - self.clock())}",
                )
            )
        return findings

    def _matching(self, claims: dict[str, Any]) -> list[Finding]:
        issuer = claims.get("iss")
        if not isinstance(issuer, str):
            return [Finding(False, "token", "no `iss` claim: no provider can accept it")]
        token_audiences = audiences(claims)
        reasons = []
        for raw in self.providers:
            try:
                provider = parse_provider(raw)
            except BayouError:
                continue
            if provider.matches(issuer, token_audiences):
                return []
            if provider.issuer.rstrip("/") != with_scheme(issuer).rstrip("/"):
                reasons.append(
                    f"issuer mismatch with {provider.describe()}: the token's iss is "
                    f"{issuer!r}, the provider's {provider.issuer!r}"
                )
            else:
                reasons.append(
                    f"audience mismatch with {provider.describe()}: the token's aud "
                    f"{token_audiences} does not include applicationID "
                    f"{provider.application_id!r}"
                )
        return [Finding(False, "token", reason) for reason in reasons]

    def _times(self, claims: dict[str, Any]) -> list[Finding]:
        now = self.clock()
        findings = []
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
        if isinstance(exp, int | float) and now >= exp:
            findings.append(
                Finding(False, "token", f"expired {_relative(exp - now)} (exp {_when(exp)})")
            )
        for claim, value in (("iat", iat), ("nbf", nbf)):
            if isinstance(value, int | float) and value - now > CUSTOM_JWT_LEEWAY_S:
                findings.append(
                    Finding(
                        False,
                        "clock skew",
                        f"the token's {claim} is {value - now:.0f} s in the future: the "
                        "issuer's clock or this machine's is off (Convex allows "
                        f"{CUSTOM_JWT_LEEWAY_S} s for custom JWTs)",
                    )
                )
        return findings


def clock_skew(date_header: str | None, now: float) -> float | None:
    """How far ahead of `now` a response's `Date` header is, in seconds (None if absent)."""
    if not date_header:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    return moment.timestamp() - now


def describe_skew(skew: float, whose: str) -> str:
    direction = "ahead of" if skew > 0 else "behind"
    return (
        f"{whose} clock is {abs(skew):.0f} s {direction} this machine's: token times (exp, "
        "iat, nbf) are judged by the server's clock, so keep clocks in sync (NTP)"
    )


def describe_claims(claims: dict[str, Any], now: float) -> str:
    parts = [
        f"iss {claims.get('iss')!r}",
        f"aud {claims.get('aud')!r}",
        f"sub {claims.get('sub')!r}",
    ]
    exp = claims.get("exp")
    if isinstance(exp, int | float):
        parts.append(f"exp {_when(exp)} ({_relative(exp - now)})")
    return ", ".join(parts)


def _list_keys(keys: Sequence[tuple[str, str | None, str | None]]) -> str:
    return ", ".join(f"{alg}" + (f" (kid {kid})" if kid else "") for alg, kid, _ in keys)


def _short(url: str) -> str:
    return url if len(url) < 80 else url[:77] + "..."


def _relative(seconds: float) -> str:
    amount = abs(seconds)
    text = f"{amount:.0f} s" if amount < 120 else f"{amount / 60:.0f} min"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))
