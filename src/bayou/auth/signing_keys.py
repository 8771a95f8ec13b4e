"""The key pair Convex Auth (`@convex-dev/auth`) signs its tokens with, in the form its own
setup writes to the deployment's variables:

- `JWT_PRIVATE_KEY`: an RSA private key as PKCS#8 PEM, newlines replaced by spaces (one
  line, as environment variables travel best; the library reads it back);
- `JWKS`: `{"keys": [{"use": "sig", "kty": "RSA", "n": …, "e": …}]}`, served at
  `<CONVEX_SITE_URL>/.well-known/jwks.json` for the deployment to verify the tokens.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def generate_signing_keys(bits: int = 2048) -> tuple[str, str]:
    """A new (JWT_PRIVATE_KEY, JWKS) pair."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    jwks = {"keys": [{"use": "sig", **public_jwk(key.public_key())}]}
    return pem.strip().replace("\n", " "), json.dumps(jwks, separators=(",", ":"))


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The JWK of an RSA public key (`kty`, `n`, `e`)."""
    from jwt.algorithms import RSAAlgorithm

    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}


def load_private_key(value: str) -> rsa.RSAPrivateKey | None:
    """The RSA key of a JWT_PRIVATE_KEY value (newlines or spaces), or None."""
    body = value.strip()
    for marker in ("-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----"):
        body = body.replace(marker, "")
    pem = (
        "-----BEGIN PRIVATE KEY-----\n" + "\n".join(body.split()) + "\n-----END PRIVATE KEY-----\n"
    )
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPrivateKey) else None


def keys_match(private_key: str, jwks: str) -> bool:
    """Whether JWKS publishes the public half of JWT_PRIVATE_KEY."""
    key = load_private_key(private_key)
    if key is None:
        return False
    try:
        published = json.loads(jwks).get("keys") or []
    except (ValueError, AttributeError):
        return False
    mine = public_jwk(key.public_key())
    return any(
        isinstance(k, dict) and k.get("n") == mine["n"] and k.get("e") == mine["e"]
        for k in published
    )
