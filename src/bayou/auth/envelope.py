"""Versioned encrypted envelopes: the byte layout of Convex's tokens.

Admin keys, cursors, query journals and upload tokens all share one layout:

    version (1 byte) ‖ nonce (12 bytes, absent when deterministic) ‖ ciphertext ‖ tag (16)

sealed with AES-128-GCM-SIV (RFC 8452) under a purpose-derived subkey
(`bayou.auth.keys.derive_key`), with the version byte as the associated data, so a
token cannot be replayed as another version. Deterministic envelopes use an all-zero
nonce and do not store it: GCM-SIV stays safe under nonce reuse and only reveals that two
plaintexts are equal — what cursors want, since they are cached as function arguments.

Legacy envelopes (admin keys minted before mid-2025) are NaCl secretboxes keyed by the
raw instance secret:  version ‖ nonce (24 bytes) ‖ Poly1305 tag (16) ‖ XSalsa20 ciphertext.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

NONCE_LEN = 12
TAG_LEN = 16
LEGACY_NONCE_LEN = 24
_ZERO_NONCE = bytes(NONCE_LEN)


class EnvelopeError(ValueError):
    """An envelope that is malformed or does not open under the given key."""


def seal(key: bytes, version: int, plaintext: bytes, *, deterministic: bool = False) -> bytes:
    """Encrypt `plaintext` into an envelope of `version` under the 16-byte `key`."""
    header = bytes([version])
    nonce = _ZERO_NONCE if deterministic else os.urandom(NONCE_LEN)
    sealed = AESGCMSIV(key).encrypt(nonce, plaintext, header)
    return header + sealed if deterministic else header + nonce + sealed


def open_envelope(key: bytes, version: int, data: bytes, *, deterministic: bool = False) -> bytes:
    """The plaintext of an envelope sealed by `seal`; `EnvelopeError` if it does not open."""
    _check_version(data, version)
    body = data[1:]
    nonce_len = 0 if deterministic else NONCE_LEN
    if len(body) < nonce_len + TAG_LEN:
        raise EnvelopeError("the envelope is too short")
    nonce = _ZERO_NONCE if deterministic else body[:NONCE_LEN]
    try:
        return AESGCMSIV(key).decrypt(nonce, body[nonce_len:], data[:1])
    except InvalidTag:
        raise EnvelopeError("the envelope does not open under this key") from None


def open_legacy_envelope(secret: bytes, version: int, data: bytes) -> bytes:
    """The plaintext of a legacy secretbox envelope keyed by the raw 32-byte `secret`."""
    # Imported here: only legacy keys need libsodium, and they are rare.
    from nacl.exceptions import CryptoError
    from nacl.secret import SecretBox

    _check_version(data, version)
    body = data[1:]
    if len(body) < LEGACY_NONCE_LEN + TAG_LEN:
        raise EnvelopeError("the legacy envelope is too short")
    try:
        return SecretBox(secret).decrypt(body[LEGACY_NONCE_LEN:], body[:LEGACY_NONCE_LEN])
    except CryptoError:
        raise EnvelopeError("the legacy envelope does not open under this secret") from None


def _check_version(data: bytes, version: int) -> None:
    if not data:
        raise EnvelopeError("the envelope is empty")
    if data[0] != version:
        raise EnvelopeError(f"envelope version {data[0]}, expected {version}")
