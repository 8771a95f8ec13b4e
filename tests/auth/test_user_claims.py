"""Claims → the `UserIdentity` object, with Convex's names (db-semantics.md §9)."""

from __future__ import annotations

from bayou.auth.user_claims import (
    custom_jwt_attributes,
    oidc_attributes,
    oidc_claims_malformed,
)

BASE = {"iss": "https://issuer.example.com", "sub": "u1", "aud": "convex", "exp": 2, "iat": 1}


def test_oidc_standard_claims_are_renamed_and_housekeeping_dropped() -> None:
    claims = {
        **BASE,
        "family_name": "Lovelace",
        "nickname": "ada",
        "preferred_username": "countess",
        "profile": "https://example.com/ada",
        "website": "https://ada.dev",
        "gender": "female",
        "zoneinfo": "Europe/London",
        "phone_number": "+44",
        "phone_number_verified": True,
        "updated_at": 1700000000,
        "auth_time": 1,
        "at_hash": "h",
        "fva": [1, 2],
        "jti": "j",
        "nbf": 1,
        "team": {"id": "t"},
    }
    assert oidc_attributes(claims) == {
        "tokenIdentifier": "https://issuer.example.com|u1",
        "subject": "u1",
        "issuer": "https://issuer.example.com",
        "familyName": "Lovelace",
        "nickname": "ada",
        "preferredUsername": "countess",
        "profileUrl": "https://example.com/ada",
        "websiteUrl": "https://ada.dev",
        "gender": "female",
        "timezone": "Europe/London",
        "phoneNumber": "+44",
        "phoneNumberVerified": True,
        "updatedAt": "2023-11-14T22:13:20+00:00",
        "team": {"id": "t"},
    }


def test_a_claim_cannot_stand_in_for_the_identity_fields() -> None:
    claims = {**BASE, "tokenIdentifier": "someone|else", "subject": "else", "issuer": "evil"}
    for attributes in (oidc_attributes(claims), custom_jwt_attributes(claims)):
        assert attributes["tokenIdentifier"] == "https://issuer.example.com|u1"
        assert (attributes["subject"], attributes["issuer"]) == ("u1", BASE["iss"])


def test_custom_jwt_claims_are_flattened_without_registered_ones() -> None:
    claims = {**BASE, "nbf": 0, "jti": "j", "fva": 3, "a": {"b": {"c": 1}, "d": [1]}, "e": {}}
    assert custom_jwt_attributes(claims) == {
        "tokenIdentifier": "https://issuer.example.com|u1",
        "subject": "u1",
        "issuer": "https://issuer.example.com",
        "a.b.c": 1,
        "a.d": [1],
    }


def test_oidc_claims_of_the_wrong_type_are_not_an_id_token() -> None:
    assert not oidc_claims_malformed(BASE)
    for bad in ({"sub": 1}, {"aud": 3}, {"exp": "soon"}, {"email_verified": "yes"}, {"name": 1}):
        assert oidc_claims_malformed({**BASE, **bad}), bad
    assert oidc_claims_malformed({k: v for k, v in BASE.items() if k != "iat"})
