"""The user-token providers of `auth.config` (`auth_config.py` in Python), as Convex reads
them (db-semantics.md §9):

    {"domain": "https://issuer.example.com", "applicationID": "convex"}        OIDC
    {"type": "customJwt", "issuer": …, "jwks": URL | "data:…", "algorithm": "RS256" | "ES256",
     "applicationID": … | null}                                                 custom JWT

A token goes to the first provider that matches it without verification: its `iss` (with
`https://` added when it has no scheme) equals the provider's issuer ignoring trailing
slashes, and its `aud` contains the provider's `applicationID` when the provider has one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bayou.errors import BadRequest

_SCHEME = re.compile(r"^\w+://")
ALGORITHMS = ("RS256", "ES256")  # what a customJwt provider may declare, as on Convex


@dataclass(frozen=True, slots=True)
class Provider:
    """One provider: `issuer` is the OIDC `domain` or the custom JWT `issuer`, with the
    scheme Convex adds when it is missing (`https://`)."""

    kind: Literal["oidc", "customJwt"]
    issuer: str
    application_id: str | None
    jwks: str | None = None  # customJwt: a URL or a `data:` URI
    algorithm: str | None = None  # customJwt: "RS256" or "ES256"

    def matches(self, issuer: str, audiences: Sequence[str]) -> bool:
        """Whether a token with this `iss` and `aud` is this provider's to verify."""
        if self.application_id is not None and self.application_id not in audiences:
            return False
        return self.issuer.rstrip("/") == with_scheme(issuer).rstrip("/")

    def describe(self) -> str:
        """How Convex's errors list a configured provider."""
        if self.kind == "oidc":
            return f"OIDC(domain={self.issuer}, app_id={self.application_id})"
        return f"CustomJWT(issuer={self.issuer}, app_id={self.application_id or 'none'})"


def with_scheme(issuer: str) -> str:
    """`iss` values without a scheme (some providers omit it) get `https://`, as on Convex."""
    return issuer if issuer.startswith(("https://", "http://")) else f"https://{issuer}"


def parse_provider(raw: Any) -> Provider:
    """A provider from its auth.config JSON; `BadRequest` naming what is wrong."""
    if not isinstance(raw, dict):
        raise BadRequest(
            f"An auth provider must be an object, got {raw!r}", code="InvalidAuthConfig"
        )
    if raw.get("type") == "customJwt":
        algorithm = raw.get("algorithm")
        if algorithm not in ALGORITHMS:
            raise BadRequest(
                f"Invalid signature algorithm (only RS256 and ES256 are supported): {algorithm}",
                code="InvalidSignatureAlgorithm",
            )
        application_id = raw.get("applicationID")
        return Provider(
            "customJwt",
            _issuer_url(raw.get("issuer")),
            application_id if isinstance(application_id, str) else None,
            jwks=str(raw.get("jwks") or ""),
            algorithm=algorithm,
        )
    return Provider("oidc", _issuer_url(raw.get("domain")), str(raw.get("applicationID") or ""))


def parse_providers(raw: Iterable[Any]) -> tuple[Provider, ...]:
    return tuple(parse_provider(p) for p in raw)


def _issuer_url(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest(
            f"Invalid provider domain URL {value!r}: it must be a URL",
            code="InvalidProviderDomainUrl",
        )
    if value.startswith('"'):
        raise BadRequest(
            f'Invalid provider domain URL "{value}": starts with a double quote (")',
            code="InvalidProviderDomainUrl",
        )
    url = value if _SCHEME.match(value) else f"https://{value}"
    if not url.startswith(("http://", "https://")):
        raise BadRequest(
            f'Invalid provider domain URL "{value}": scheme should be http or https',
            code="InvalidProviderDomainUrl",
        )
    return url


def no_provider_message(providers: Sequence[Provider], *, redact: bool) -> str:
    """Convex's `NoAuthProvider` text: which providers exist, unless errors are redacted."""
    if redact:
        return "No auth provider found matching the given token"
    if not providers:
        return (
            "No auth provider found matching the given token (no providers configured). "
            "Check convex/auth.config.ts."
        )
    listed = ", ".join(p.describe() for p in providers)
    return (
        "No auth provider found matching the given token. Check that your JWT's issuer and "
        f"audience match one of your configured providers: [{listed}]"
    )
