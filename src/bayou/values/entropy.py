"""Random bytes from the operating system, drawn a page at a time.

Every call needs some (its request id, its `Math.random` seed, the ids of documents it
inserts); one `getrandom` system call each would be several per call. The bytes are the
kernel's all the same, and a forked child starts with an empty buffer, never a copy of
its parent's.
"""

from __future__ import annotations

import os

_PAGE = 4096
_buffer = bytearray()


def random_bytes(n: int) -> bytes:
    """`n` bytes of OS randomness (as `os.urandom(n)`)."""
    global _buffer
    if n > _PAGE:
        return os.urandom(n)
    if len(_buffer) < n:
        _buffer = bytearray(os.urandom(_PAGE))
    out = bytes(_buffer[-n:])
    del _buffer[-n:]
    return out


def random_hex(n: int) -> str:
    """`n` random bytes as hex (as `secrets.token_hex(n)`)."""
    return random_bytes(n).hex()


def random_bits(k: int) -> int:
    """A random non-negative integer below 2**k (as `secrets.randbits(k)`)."""
    return int.from_bytes(random_bytes((k + 7) // 8), "big") >> (-k % 8)


def _forget() -> None:
    global _buffer
    _buffer = bytearray()


os.register_at_fork(after_in_child=_forget)
