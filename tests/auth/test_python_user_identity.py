"""The Python side: `bayou.UserIdentity` (what `ctx.auth.get_user_identity()` returns) and
`convex/auth_config.py` analysed into the providers auth.config.ts would give."""

from __future__ import annotations

import types

import orjson
import pytest

from bayou import UserIdentity
from bayou.runtimes.python.analysis import auth_config_of
from bayou.runtimes.python.api.values import to_convex

ATTRIBUTES = {
    "tokenIdentifier": "https://issuer.example.com|u1",
    "subject": "u1",
    "issuer": "https://issuer.example.com",
    "email": "ada@example.com",
    "emailVerified": True,
    "updatedAt": "2024-01-01T00:00:00+00:00",
    "org.id": "o1",
    "roles": ["admin"],
}


def test_standard_fields_are_attributes_and_claims_are_items() -> None:
    identity = UserIdentity(ATTRIBUTES)
    assert identity.token_identifier == "https://issuer.example.com|u1"
    assert (identity.subject, identity.issuer) == ("u1", "https://issuer.example.com")
    assert (identity.email, identity.email_verified) == ("ada@example.com", True)
    assert identity.updated_at == "2024-01-01T00:00:00+00:00"
    assert identity.name is None and identity.phone_number is None
    assert identity["org.id"] == "o1"
    assert identity.get("missing") is None
    with pytest.raises(KeyError):
        identity["missing"]
    assert repr(identity).startswith("UserIdentity({'tokenIdentifier'")
    assert "email" in (UserIdentity.email.__doc__ or "")


def test_it_is_the_identity_object_itself() -> None:
    identity = UserIdentity(ATTRIBUTES)
    assert identity == ATTRIBUTES
    assert orjson.loads(orjson.dumps(identity)) == ATTRIBUTES
    assert to_convex(identity, "return value") == ATTRIBUTES  # a function may return it


def test_auth_config_py_gives_the_providers_with_convex_keys() -> None:
    module = types.ModuleType("auth_config")
    module.providers = [  # type: ignore[attr-defined]
        {"domain": "https://issuer.example.com", "application_id": "convex"},
        {"type": "customJwt", "issuer": "https://x", "jwks": "data:,{}", "algorithm": "ES256"},
    ]
    assert auth_config_of(module) == {
        "providers": [
            {"domain": "https://issuer.example.com", "applicationID": "convex"},
            {"type": "customJwt", "issuer": "https://x", "jwks": "data:,{}", "algorithm": "ES256"},
        ]
    }
    for bad in (None, "https://issuer.example.com", [1]):
        module.providers = bad  # type: ignore[attr-defined]
        with pytest.raises(ValueError, match="must define `providers`"):
            auth_config_of(module)
