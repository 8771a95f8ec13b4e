"""A verified token's claims → the `UserIdentity` object `ctx.auth.getUserIdentity()`
returns, with Convex's names (db-semantics.md §9):

- always `tokenIdentifier` (`"<iss>|<sub>"`), `subject`, `issuer`;
- OIDC tokens: the standard profile claims renamed (`given_name` → `givenName`, `picture`
  → `pictureUrl`, `birthdate` → `birthday`, `zoneinfo` → `timezone`, `locale` →
  `language`, `address.formatted` → `address`, `updated_at` → RFC 3339 `updatedAt` …),
  every other claim kept with its JSON value except the ID-token housekeeping (`aud`,
  `iat`, `auth_time`, `nonce`, `acr`, `amr`, `azp`, `at_hash`, `c_hash`) and the claims
  that change on every refresh (`jti`, `nbf`, `fva`), which would split the query cache;
- custom JWTs: every claim but the registered ones (`iss`, `sub`, `aud`, `exp`, `nbf`,
  `iat`, `jti`) and `fva`, nested objects flattened to dotted keys (`"org.id"`).
"""

from __future__ import annotations

import datetime
from typing import Any

# OIDC standard claim → UserIdentity field (strings unless listed in _BOOLEANS).
_STANDARD = {
    "name": "name",
    "given_name": "givenName",
    "family_name": "familyName",
    "nickname": "nickname",
    "preferred_username": "preferredUsername",
    "profile": "profileUrl",
    "picture": "pictureUrl",
    "website": "websiteUrl",
    "email": "email",
    "email_verified": "emailVerified",
    "gender": "gender",
    "birthdate": "birthday",
    "zoneinfo": "timezone",
    "locale": "language",
    "phone_number": "phoneNumber",
    "phone_number_verified": "phoneNumberVerified",
}
_BOOLEANS = {"email_verified", "phone_number_verified"}
_OIDC_HIDDEN = {
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "address",
    "updated_at",
    "jti",
    "nbf",
    "fva",
}
_REGISTERED = {"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}


def token_identifier(issuer: str, subject: str) -> str:
    return f"{issuer}|{subject}"


def oidc_attributes(claims: dict[str, Any]) -> dict[str, Any]:
    """The identity of a verified OIDC ID token (`iss` and `sub` are strings)."""
    issuer, subject = claims["iss"], claims["sub"]
    # Other claims first: none of them may stand in for a field of the identity itself.
    attributes = {k: v for k, v in claims.items() if k not in _STANDARD and k not in _OIDC_HIDDEN}
    attributes["tokenIdentifier"] = token_identifier(issuer, subject)
    attributes["subject"] = subject
    attributes["issuer"] = issuer
    for claim, field in _STANDARD.items():
        value = claims.get(claim)
        if claim in _BOOLEANS:
            if isinstance(value, bool):
                attributes[field] = value
        elif isinstance(value, str):
            attributes[field] = value
    address = claims.get("address")
    if isinstance(address, dict) and isinstance(address.get("formatted"), str):
        attributes["address"] = address["formatted"]
    updated_at = claims.get("updated_at")
    if isinstance(updated_at, int | float) and not isinstance(updated_at, bool):
        attributes["updatedAt"] = _rfc3339(updated_at)
    return attributes


def custom_jwt_attributes(claims: dict[str, Any]) -> dict[str, Any]:
    """The identity of a verified custom JWT (`iss` and `sub` are strings)."""
    issuer, subject = claims["iss"], claims["sub"]
    custom = _flatten({k: v for k, v in claims.items() if k not in _REGISTERED})
    custom.pop("fva", None)
    return {
        **custom,
        "tokenIdentifier": token_identifier(issuer, subject),
        "subject": subject,
        "issuer": issuer,
    }


def _flatten(claims: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in claims.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _rfc3339(seconds: float) -> str:
    try:
        moment = datetime.datetime.fromtimestamp(int(seconds), tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return str(seconds)
    return moment.isoformat()


def oidc_claims_malformed(claims: dict[str, Any]) -> bool:
    """Whether an ID token's claims have the wrong JSON types for OIDC (Convex then refuses
    the token as not an OIDC ID token): `sub` a string, `aud` a string or strings, `exp`
    and `iat` numbers, the standard claims strings or booleans."""
    if not isinstance(claims.get("sub"), str):
        return True
    aud = claims.get("aud")
    if not (
        isinstance(aud, str) or (isinstance(aud, list) and all(isinstance(a, str) for a in aud))
    ):
        return True
    for claim in ("exp", "iat"):
        if not _is_number(claims.get(claim)):
            return True
    for claim in ("auth_time", "updated_at"):
        if claim in claims and not _is_number(claims[claim]):
            return True
    for claim in _STANDARD:
        if claim in claims and claims[claim] is not None:
            wanted = bool if claim in _BOOLEANS else str
            if not isinstance(claims[claim], wanted):
                return True
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
