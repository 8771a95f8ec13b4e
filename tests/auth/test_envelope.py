"""Versioned envelopes: AES-128-GCM-SIV (current) and NaCl secretbox (legacy)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
from nacl.secret import SecretBox

from bayou.auth.envelope import (
    EnvelopeError,
    open_envelope,
    open_legacy_envelope,
    seal,
)

KEY = bytes(range(16))


def test_the_aes_gcm_siv_backend_matches_rfc_8452() -> None:
    # RFC 8452 appendix C.1 (AEAD_AES_128_GCM_SIV), the cipher of Convex's tokens.
    cipher = AESGCMSIV(bytes.fromhex("01000000000000000000000000000000"))
    nonce = bytes.fromhex("030000000000000000000000")
    assert cipher.encrypt(nonce, b"", None).hex() == "dc20e2d83f25705bb49e439eca56de25"
    assert (
        cipher.encrypt(nonce, bytes.fromhex("0100000000000000"), None).hex()
        == "b5d839330ac7b786578782fff6013b815b287c22493a364c"
    )


def test_an_envelope_is_version_nonce_ciphertext_tag_with_the_version_as_aad() -> None:
    sealed = seal(KEY, 7, b"hello")
    assert sealed[0] == 7
    assert len(sealed) == 1 + 12 + 5 + 16
    nonce, body = sealed[1:13], sealed[13:]
    assert AESGCMSIV(KEY).decrypt(nonce, body, bytes([7])) == b"hello"
    assert open_envelope(KEY, 7, sealed) == b"hello"


def test_random_envelopes_differ_and_deterministic_ones_repeat() -> None:
    assert seal(KEY, 1, b"x") != seal(KEY, 1, b"x")
    first = seal(KEY, 1, b"x", deterministic=True)
    assert first == seal(KEY, 1, b"x", deterministic=True)
    assert len(first) == 1 + 1 + 16
    assert open_envelope(KEY, 1, first, deterministic=True) == b"x"


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:1] + bytes([data[1] ^ 1]) + data[2:],  # nonce
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),  # tag
        lambda data: bytes([2]) + data[1:],  # version
        lambda data: data[:20],  # truncated
        lambda data: b"",
    ],
)
def test_a_damaged_envelope_does_not_open(damage) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EnvelopeError):
        open_envelope(KEY, 1, damage(seal(KEY, 1, b"payload")))


def test_an_envelope_does_not_open_under_another_key_or_version() -> None:
    sealed = seal(KEY, 1, b"payload")
    with pytest.raises(EnvelopeError):
        open_envelope(bytes(16), 1, sealed)
    with pytest.raises(EnvelopeError, match="version"):
        open_envelope(KEY, 2, sealed)


def test_a_legacy_envelope_is_a_secretbox_keyed_by_the_raw_secret() -> None:
    secret = bytes(range(32))
    nonce = bytes(range(100, 124))
    box = SecretBox(secret).encrypt(b"legacy payload", nonce)
    data = bytes([1]) + box  # PyNaCl's output is nonce ‖ tag ‖ ciphertext
    assert open_legacy_envelope(secret, 1, data) == b"legacy payload"
    with pytest.raises(EnvelopeError):
        open_legacy_envelope(bytes(32), 1, data)
    with pytest.raises(EnvelopeError):
        open_legacy_envelope(secret, 1, data[:30])
