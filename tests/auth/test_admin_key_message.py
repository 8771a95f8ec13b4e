"""The hand-written protobuf codec of `convex_keys.AdminKey`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayou.auth.admin_key_message import AdminKeyMessage, MessageError

# Expected bytes produced by `protoc --encode=convex_keys.AdminKey` from Convex's
# convex_keys.proto (the same bytes prost writes: fields in order, oneof always written).
ENCODINGS = [
    (AdminKeyMessage(issued_s=1700000000, member_id=0), "1080e2cfaa061800"),
    (AdminKeyMessage(issued_s=1700000000, system=True), "1080e2cfaa062200"),
    (
        AdminKeyMessage(issued_s=1700000000, member_id=0, is_read_only=True),
        "1080e2cfaa0618002801",
    ),
    (
        AdminKeyMessage(issued_s=1700000000, member_id=300, is_read_only=True),
        "1080e2cfaa0618ac022801",
    ),
    (
        AdminKeyMessage(issued_s=1638826753, member_id=0, instance_name="carnitas"),
        "0a086361726e69746173108186ba8d061800",
    ),
]


@pytest.mark.parametrize(("message", "encoded"), ENCODINGS)
def test_encoding_matches_protoc(message: AdminKeyMessage, encoded: str) -> None:
    assert message.encode().hex() == encoded
    assert AdminKeyMessage.decode(bytes.fromhex(encoded)) == message


@given(
    issued_s=st.integers(min_value=1, max_value=2**64 - 1),
    member_id=st.one_of(st.none(), st.integers(min_value=0, max_value=2**64 - 1)),
    is_read_only=st.booleans(),
    instance_name=st.one_of(st.none(), st.text(max_size=30)),
)
def test_every_message_round_trips(
    issued_s: int, member_id: int | None, is_read_only: bool, instance_name: str | None
) -> None:
    message = AdminKeyMessage(
        issued_s=issued_s,
        member_id=member_id,
        system=member_id is None,
        is_read_only=is_read_only,
        instance_name=instance_name,
    )
    assert AdminKeyMessage.decode(message.encode()) == message


def test_unknown_fields_are_skipped_and_the_last_oneof_member_wins() -> None:
    unknown = bytes.fromhex("3005") + bytes.fromhex("3a03616263") + bytes.fromhex("4d01020304")
    data = bytes.fromhex("1080e2cfaa06") + bytes.fromhex("2200") + bytes.fromhex("1807") + unknown
    assert AdminKeyMessage.decode(data) == AdminKeyMessage(issued_s=1700000000, member_id=7)


@pytest.mark.parametrize(
    "data",
    ["10", "0a05616263", "1080808080808080808080", "00", "1280e2cfaa06", "0a02ffff"],
    ids=[
        "truncated-varint",
        "truncated-bytes",
        "long-varint",
        "field-zero",
        "wrong-wire-type",
        "bad-utf8",
    ],
)
def test_malformed_messages_are_refused(data: str) -> None:
    with pytest.raises(MessageError):
        AdminKeyMessage.decode(bytes.fromhex(data))
