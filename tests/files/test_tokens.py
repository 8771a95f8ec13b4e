"""Upload tokens: Convex's layout and errors, an hour of validity."""

from __future__ import annotations

import pytest

from bayou.auth.envelope import open_envelope
from bayou.auth.keys import STORE_FILE_AUTHORIZATION, derive_key
from bayou.errors import Unauthenticated
from bayou.files.tokens import UploadTokens
from tests.files.conftest import SECRET, Clock


def test_a_token_is_convexs_envelope_around_a_storage_token_message() -> None:
    token = UploadTokens(SECRET, "happy-otter-123", clock=Clock(1_700_000_000)).issue()
    raw = bytes.fromhex(token)
    assert raw[0] == 1  # STORE_FILE_AUTHZ_VERSION
    message = open_envelope(derive_key(SECRET, STORE_FILE_AUTHORIZATION), 1, raw)
    # instance_name = 1, issued_s = 2, store_file = 3 (empty), no component (root)
    name = b"happy-otter-123"
    issued = bytes([0x80 | (1_700_000_000 >> (7 * i) & 0x7F) for i in range(4)]) + bytes(
        [1_700_000_000 >> 28]
    )
    assert message == b"\x0a" + bytes([len(name)]) + name + b"\x10" + issued + b"\x1a\x00"


def test_a_token_is_valid_for_an_hour() -> None:
    clock = Clock()
    tokens = UploadTokens(SECRET, "i", clock=clock)
    token = tokens.issue()
    clock.now += 3599
    assert tokens.check(token) == int(clock.now - 3599)
    clock.now += 1
    with pytest.raises(Unauthenticated) as e:
        tokens.check(token)
    assert (e.value.code, e.value.message, e.value.status) == (
        "StorageTokenExpired",
        "Store File Authorization expired",
        401,
    )


@pytest.mark.parametrize("mangle", ["flip", "garbage", "empty", "other-secret"])
def test_a_forged_token_cannot_be_decoded(mangle: str) -> None:
    tokens = UploadTokens(SECRET, "i")
    token = tokens.issue()
    forged = {
        "flip": token[:-2] + ("00" if token[-2:] != "00" else "11"),
        "garbage": "not hex at all",
        "empty": "",
        "other-secret": UploadTokens(bytes(32), "i").issue(),
    }[mangle]
    with pytest.raises(Unauthenticated) as e:
        tokens.check(forged)
    assert (e.value.code, e.value.message) == (
        "StorageTokenInvalid",
        "Couldn't decode the StoreFileAuthorization token",
    )


def test_a_token_of_another_instance_is_refused() -> None:
    theirs = UploadTokens(SECRET, "other").issue()
    with pytest.raises(Unauthenticated) as e:
        UploadTokens(SECRET, "mine").check(theirs)
    assert e.value.code == "InvalidStorageToken"
