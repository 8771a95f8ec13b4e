"""Convex Auth's key pair as `bayou auth setup` makes it: what @convex-dev/auth reads."""

from __future__ import annotations

import json

import jwt

from bayou.auth.signing_keys import generate_signing_keys, keys_match, load_private_key


def test_the_private_key_is_one_line_of_pkcs8_and_the_jwks_its_public_half() -> None:
    private_key, jwks = generate_signing_keys()
    assert "\n" not in private_key
    assert private_key.startswith("-----BEGIN PRIVATE KEY----- ")
    assert private_key.endswith(" -----END PRIVATE KEY-----")
    keys = json.loads(jwks)["keys"]
    assert [sorted(k) for k in keys] == [["e", "kty", "n", "use"]]
    assert keys[0]["use"] == "sig" and keys[0]["kty"] == "RSA"
    assert keys_match(private_key, jwks)
    # A token signed with it verifies with the published key.
    key = load_private_key(private_key)
    token = jwt.encode({"sub": "x"}, key, algorithm="RS256")
    public = jwt.PyJWK(keys[0]).key
    assert jwt.decode(token, public, algorithms=["RS256"]) == {"sub": "x"}


def test_mismatched_or_broken_keys_do_not_match() -> None:
    private_key, _ = generate_signing_keys()
    _, other_jwks = generate_signing_keys()
    assert not keys_match(private_key, other_jwks)
    assert not keys_match("not a key", other_jwks)
    assert not keys_match(private_key, "not json")
    body = private_key.removeprefix("-----BEGIN PRIVATE KEY----- ").removesuffix(
        " -----END PRIVATE KEY-----"
    )
    pem = (
        "-----BEGIN PRIVATE KEY-----\n" + body.replace(" ", "\n") + "\n-----END PRIVATE KEY-----\n"
    )
    assert load_private_key(pem) is not None  # the usual PEM, with newlines, too
