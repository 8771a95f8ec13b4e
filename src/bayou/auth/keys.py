"""Subkeys derived from the 32-byte instance secret, one per purpose.

Convex never uses the instance secret directly as a cipher key (except for legacy admin
keys): each use gets its own subkey from SP 800-108 KBKDF in counter mode with
HMAC-SHA256 (the construction of aws-lc's `KBKDF_ctr_hmac`):

    block_i = HMAC-SHA256(secret, uint32_be(i) ‖ purpose)    for i = 1, 2, …
    subkey  = (block_1 ‖ block_2 ‖ …)[:length]

There is no length field and no separator; the purpose string is the whole fixed input.
Using the same purpose strings as Convex ("admin key", "cursor", …) makes the subkeys —
and so every token sealed with them — interchangeable with Convex's backend. Bayou's own
purposes must use strings Convex does not, so a token of one kind never opens as another.
"""

from __future__ import annotations

import hashlib
import hmac

SECRET_LEN = 32
"""Length in bytes of an instance secret (`openssl rand -hex 32`)."""

ADMIN_KEY = "admin key"
ACTION_CALLBACK_TOKEN = "action callback token"
CURSOR = "cursor"
DATA_SYNC_CURSOR = "data sync cursor"
QUERY_JOURNAL = "query journal"
STORE_FILE_AUTHORIZATION = "store file authorization"

_BLOCK_LEN = hashlib.sha256().digest_size


def derive_key(secret: bytes, purpose: str | bytes, length: int = 16) -> bytes:
    """The `length`-byte subkey of `secret` for `purpose` (KBKDF-CTR-HMAC-SHA256).

    `derive_key(secret, ADMIN_KEY)` is the AES-128-GCM-SIV key of admin keys;
    other parts derive their own, e.g. `derive_key(secret, "bayou cursor signing", 32)`.
    A text purpose is used as its UTF-8 bytes.
    """
    if not secret:
        raise ValueError("the secret to derive a key from is empty")
    if length <= 0:
        raise ValueError(f"a derived key needs a positive length, not {length}")
    label = purpose.encode() if isinstance(purpose, str) else purpose
    blocks = []
    for counter in range(1, -(-length // _BLOCK_LEN) + 1):
        blocks.append(hmac.digest(secret, counter.to_bytes(4, "big") + label, "sha256"))
    return b"".join(blocks)[:length]
