"""Subkey derivation: KBKDF in counter mode with HMAC-SHA256, as aws-lc-rs computes it."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode
from hypothesis import given
from hypothesis import strategies as st

from bayou.auth.keys import ADMIN_KEY, CURSOR, derive_key


def test_derive_key_matches_the_aws_lc_rs_documentation_vector() -> None:
    # The example of `aws_lc_rs::kdf::kbkdf_ctr_hmac` (HMAC-SHA256, 16-byte output),
    # the function Convex's keybroker derives its subkeys with.
    key = bytes.fromhex("0185fb7661f6dd408d982f810fcd5004")
    info = bytes.fromhex("c3f1712a82613643e0f763a7a0a31588b6aed95056dfc512550cf2d00d68a32d")
    expected = bytes.fromhex("c63f747b67be71f57ba4562117dd2904")
    assert derive_key(key, info, 16) == expected


@given(
    secret=st.binary(min_size=1, max_size=64),
    purpose=st.text(min_size=1, max_size=40),
    length=st.integers(min_value=1, max_value=200),
)
def test_derive_key_agrees_with_sp800_108_counter_mode_for_any_length(
    secret: bytes, purpose: str, length: int
) -> None:
    assert derive_key(secret, purpose, length) == _derive_raw(secret, purpose.encode(), length)


def test_a_text_purpose_is_its_utf8_bytes() -> None:
    assert derive_key(bytes(32), "admin key") == derive_key(bytes(32), b"admin key")


def test_each_purpose_gets_its_own_key() -> None:
    secret = bytes(range(32))
    assert derive_key(secret, ADMIN_KEY) != derive_key(secret, CURSOR)
    assert len(derive_key(secret, CURSOR, 32)) == 32
    assert derive_key(secret, CURSOR, 32)[:16] == derive_key(secret, CURSOR)


def test_derive_key_refuses_empty_secrets_and_lengths() -> None:
    with pytest.raises(ValueError):
        derive_key(b"", ADMIN_KEY)
    with pytest.raises(ValueError):
        derive_key(bytes(32), ADMIN_KEY, 0)


def _derive_raw(secret: bytes, fixed: bytes, length: int) -> bytes:
    """The same KDF from `cryptography`'s independent KBKDF implementation."""
    kdf = KBKDFHMAC(
        algorithm=hashes.SHA256(),
        mode=Mode.CounterMode,
        length=length,
        rlen=4,
        llen=None,
        location=CounterLocation.BeforeFixed,
        label=None,
        context=None,
        fixed=fixed,
    )
    return kdf.derive(secret)
