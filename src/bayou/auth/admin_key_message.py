"""The plaintext of an admin key: the protobuf message `convex_keys.AdminKey`, by hand.

    message AdminKey {
      optional string instance_name = 1;   // only in legacy keys
      uint64 issued_s = 2;                 // Unix seconds at issue, never 0
      oneof identity {
        uint64 member_id = 3;              // 0 for a generic admin key, still written
        google.protobuf.Empty system = 4;  // a system key
      }
      bool is_read_only = 5;
    }

The message is five fields, so it is encoded here rather than with a protobuf library.
Encoding follows prost's: fields in number order, proto3 defaults (issued_s 0, false)
omitted, the oneof member always written. Decoding accepts any valid encoding (any field
order, repeated fields — the last wins —, unknown fields skipped), as protobuf requires.
"""

from __future__ import annotations

from dataclasses import dataclass

_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5
_UINT64_MAX = (1 << 64) - 1


class MessageError(ValueError):
    """Bytes that are not a well-formed `AdminKey` message."""


@dataclass(frozen=True)
class AdminKeyMessage:
    """The fields of an admin key. `member_id is None and not system` means no identity."""

    issued_s: int = 0
    member_id: int | None = None
    system: bool = False
    is_read_only: bool = False
    instance_name: str | None = None

    def encode(self) -> bytes:
        """The protobuf encoding, byte for byte what Convex's generator produces."""
        out = bytearray()
        if self.instance_name is not None:
            name = self.instance_name.encode()
            out += _key(1, _LENGTH_DELIMITED) + _varint(len(name)) + name
        if self.issued_s:
            out += _key(2, _VARINT) + _varint(self.issued_s)
        if self.system:
            out += _key(4, _LENGTH_DELIMITED) + _varint(0)
        elif self.member_id is not None:
            out += _key(3, _VARINT) + _varint(self.member_id)
        if self.is_read_only:
            out += _key(5, _VARINT) + _varint(1)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> AdminKeyMessage:
        """Parse a protobuf encoding; `MessageError` if it is malformed."""
        fields: dict[str, object] = {}
        pos = 0
        while pos < len(data):
            key, pos = _read_varint(data, pos)
            number, wire_type = key >> 3, key & 7
            if number == 0:
                raise MessageError("field number 0")
            value, pos = _read_value(data, pos, wire_type)
            _assign(fields, number, wire_type, value)
        return cls(**fields)  # type: ignore[arg-type]


def _assign(fields: dict[str, object], number: int, wire_type: int, value: int | bytes) -> None:
    expected = {1: _LENGTH_DELIMITED, 2: _VARINT, 3: _VARINT, 4: _LENGTH_DELIMITED, 5: _VARINT}
    if number not in expected:
        return  # unknown field: skipped, as protobuf requires
    if wire_type != expected[number]:
        raise MessageError(f"field {number} has wire type {wire_type}")
    if number == 1:
        assert isinstance(value, bytes)
        try:
            fields["instance_name"] = value.decode()
        except UnicodeDecodeError:
            raise MessageError("instance_name is not UTF-8") from None
    elif number == 2:
        fields["issued_s"] = value
    elif number == 3:
        fields["member_id"], fields["system"] = value, False
    elif number == 4:
        # google.protobuf.Empty has no fields; any content would be unknown fields.
        fields["member_id"], fields["system"] = None, True
    else:
        fields["is_read_only"] = value != 0


def _key(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _varint(value: int) -> bytes:
    if not 0 <= value <= _UINT64_MAX:
        raise ValueError(f"{value} does not fit in a uint64")
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise MessageError("truncated varint")
        if shift >= 64:
            raise MessageError("varint longer than 10 bytes")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value & _UINT64_MAX, pos


def _read_value(data: bytes, pos: int, wire_type: int) -> tuple[int | bytes, int]:
    if wire_type == _VARINT:
        return _read_varint(data, pos)
    if wire_type == _LENGTH_DELIMITED:
        length, pos = _read_varint(data, pos)
        if pos + length > len(data):
            raise MessageError("truncated length-delimited field")
        return data[pos : pos + length], pos + length
    if wire_type in (_FIXED64, _FIXED32):
        width = 8 if wire_type == _FIXED64 else 4
        if pos + width > len(data):
            raise MessageError("truncated fixed-width field")
        return int.from_bytes(data[pos : pos + width], "little"), pos + width
    raise MessageError(f"unsupported wire type {wire_type}")
