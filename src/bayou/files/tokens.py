"""Upload tokens: the `token` of `/api/storage/upload?token=…`, byte for byte Convex's.

A token is the hex of an envelope (`bayou.auth.envelope`, version 1) sealed under the
instance secret's "store file authorization" subkey, around the protobuf message

    message StorageToken {
      string instance_name = 1;
      uint64 issued_s = 2;                      // Unix seconds
      oneof authorization_type { StoreFile store_file = 3; }   // StoreFile is empty
      optional string component_id = 4;        // absent for the root component
    }

so a token minted by Convex's backend for the same instance opens here, and the reverse.
A token is valid for an hour; the errors are Convex's (401, `StorageTokenInvalid`,
`InvalidStorageToken`, `StorageTokenExpired`).
"""

from __future__ import annotations

import time

from bayou.auth.envelope import EnvelopeError, open_envelope, seal
from bayou.auth.keys import STORE_FILE_AUTHORIZATION, derive_key
from bayou.errors import Unauthenticated

VERSION = 1
VALIDITY_S = 3600

_VARINT, _LEN = 0, 2


class UploadTokens:
    """Issues and checks the upload tokens of one instance."""

    def __init__(self, secret: bytes, instance_name: str, *, clock=time.time) -> None:  # type: ignore[no-untyped-def]
        self._key = derive_key(secret, STORE_FILE_AUTHORIZATION)
        self.instance_name = instance_name
        self.clock = clock

    def issue(self, component: str = "") -> str:
        """A token for an upload into the files of `component` ("" is the app)."""
        message = _encode(self.instance_name, int(self.clock()), component)
        return seal(self._key, VERSION, message).hex()

    def check(self, token: str) -> int:
        """The issue time (Unix seconds) of a valid token; `Unauthenticated` otherwise."""
        return self.open(token)[0]

    def open(self, token: str) -> tuple[int, str]:
        """(issue time, component) of a valid token; `Unauthenticated` otherwise."""
        try:
            plaintext = open_envelope(self._key, VERSION, bytes.fromhex(token))
            instance, issued_s, store_file, component = _decode(plaintext)
        except (ValueError, EnvelopeError):
            raise Unauthenticated(
                "Couldn't decode the StoreFileAuthorization token", code="StorageTokenInvalid"
            ) from None
        if instance != self.instance_name or not store_file:
            raise Unauthenticated(
                f"Storage token is for invalid instance {instance}", code="InvalidStorageToken"
            )
        if issued_s == 0:
            raise Unauthenticated(
                "Couldn't decode the StoreFileAuthorization token", code="StorageTokenInvalid"
            )
        if issued_s + VALIDITY_S <= self.clock():
            raise Unauthenticated("Store File Authorization expired", code="StorageTokenExpired")
        return issued_s, component


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _encode(instance_name: str, issued_s: int, component: str = "") -> bytes:
    """prost's encoding: fields in order, proto3 defaults omitted, the oneof written."""
    name = instance_name.encode()
    out = bytearray()
    if name:
        out += bytes([1 << 3 | _LEN]) + _varint(len(name)) + name
    if issued_s:
        out += bytes([2 << 3 | _VARINT]) + _varint(issued_s)
    out += bytes([3 << 3 | _LEN, 0])  # store_file: an empty message
    if component:
        raw = component.encode()
        out += bytes([4 << 3 | _LEN]) + _varint(len(raw)) + raw
    return bytes(out)


def _decode(data: bytes) -> tuple[str, int, bool, str]:
    """(instance_name, issued_s, has store_file, component) of any valid encoding;
    ValueError else."""
    name, issued, store_file, component = "", 0, False, ""
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _read_varint(data, pos)
            if number == 2:
                issued = value
        elif wire == _LEN:
            length, pos = _read_varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated field")
            raw = data[pos : pos + length]
            pos += length
            if number == 1:
                name = raw.decode()
            elif number == 3:
                store_file = True
            elif number == 4:
                component = raw.decode()
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"wire type {wire}")
    if pos != len(data):
        raise ValueError("truncated field")
    return name, issued, store_file, component


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("bad varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
