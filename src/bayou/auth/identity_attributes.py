"""User identity attributes: the JSON object `ctx.auth.getUserIdentity()` returns.

An admin may act as a user (`npx convex run --identity '{...}'`, the dashboard's "act as
user"): the client appends `:<base64 of the JSON attributes>` to its admin key. Convex
requires `tokenIdentifier`, or `issuer` and `subject` from which it builds
`"<issuer>|<subject>"`; the standard OpenID claims must have their JSON types; any other
key is a custom claim with any JSON value.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

_STRING_CLAIMS = (
    "tokenIdentifier",
    "issuer",
    "subject",
    "name",
    "givenName",
    "familyName",
    "nickname",
    "preferredUsername",
    "profileUrl",
    "pictureUrl",
    "websiteUrl",
    "email",
    "gender",
    "birthday",
    "timezone",
    "language",
    "phoneNumber",
    "address",
    "updatedAt",
)
_BOOLEAN_CLAIMS = ("emailVerified", "phoneNumberVerified")


def parse_identity_attributes(value: Any) -> dict[str, Any]:
    """Validated attributes with `tokenIdentifier` filled in; `ValueError` if invalid.

    A `null` standard claim counts as absent and is dropped, as Convex does.
    """
    if not isinstance(value, dict):
        raise ValueError("the identity must be a JSON object")
    attributes = {k: v for k, v in value.items() if not (_is_standard(k) and v is None)}
    for claim in _STRING_CLAIMS:
        if claim in attributes and not isinstance(attributes[claim], str):
            raise ValueError(f'the identity claim "{claim}" must be a string')
    for claim in _BOOLEAN_CLAIMS:
        if claim in attributes and not isinstance(attributes[claim], bool):
            raise ValueError(f'the identity claim "{claim}" must be a boolean')
    if "tokenIdentifier" not in attributes:
        if "issuer" not in attributes or "subject" not in attributes:
            raise ValueError('either "tokenIdentifier" or "issuer" and "subject" must be set')
        attributes["tokenIdentifier"] = f"{attributes['issuer']}|{attributes['subject']}"
    return attributes


def decode_acting_user(encoded: str) -> dict[str, Any]:
    """The attributes in the base64 suffix of an acting-as-user admin key."""
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        value = orjson.loads(raw)
    except (binascii.Error, orjson.JSONDecodeError):
        raise ValueError("the acting-as-user identity is not base64-encoded JSON") from None
    return parse_identity_attributes(value)


def _is_standard(claim: str) -> bool:
    return claim in _STRING_CLAIMS or claim in _BOOLEAN_CLAIMS
