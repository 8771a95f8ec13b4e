"""Tests of bayou.values.ids: document ids byte-exact with Convex's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayou.errors import BadRequest
from bayou.values import ids

REAL_IDS = [
    # (id, table number, internal id hex or None, day number)
    ("jd777hjdbxa16v8yhn33xsr52s7ebzm8", 10003, None, 20197),
    ("j5700000000000000000000000001qv0", 10001, "00" * 16, 0),
    ("j97028t5cy4tqkff04hmasw9nd7v18yf", 10002, None, None),
    ("j573z6gcbsyj3d68hr56p79f8h7v1knt", 10001, None, None),
]


@pytest.mark.parametrize(("id_string", "table", "internal_hex", "day"), REAL_IDS)
def test_real_convex_ids_decode_and_reencode(id_string, table, internal_hex, day):
    table_number, internal_id = ids.decode_id(id_string)
    assert table_number == table
    if internal_hex is not None:
        assert internal_id.hex() == internal_hex
    if day is not None:
        assert ids.day_of(internal_id) == day
    assert ids.encode_id(table_number, internal_id) == id_string
    assert ids.is_valid_id(id_string)


@pytest.mark.parametrize(
    ("table", "length"),
    [
        (1, 31),
        (127, 31),
        (128, 32),
        (10001, 32),
        (16383, 32),
        (16384, 34),
        (2**21 - 1, 34),
        (2**21, 36),
        (2**28 - 1, 36),
        (2**28, 37),
        (2**32 - 1, 37),
    ],
)
def test_id_length_follows_the_table_number_width(table, length):
    id_string = ids.encode_id(table, bytes(range(16)))
    assert len(id_string) == length
    assert ids.decode_id(id_string) == (table, bytes(range(16)))


@given(st.integers(1, 2**32 - 1), st.binary(min_size=16, max_size=16))
def test_decode_inverts_encode(table, internal_id):
    id_string = ids.encode_id(table, internal_id)
    assert set(id_string) <= set("0123456789abcdefghjkmnpqrstvwxyz")
    assert ids.decode_id(id_string) == (table, internal_id)


def _flip_last_char(s: str) -> str:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    return s[:-1] + alphabet[(alphabet.index(s[-1]) + 1) % 32]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "j57",
        "j5700000000000000000000000001qv",  # 31 chars but not an id of table < 128
        "j5700000000000000000000000001qv00",  # 33 chars
        "j5700000000000000000000000001qv0" + "00000",  # 37 chars of garbage
        "J5700000000000000000000000001qv0",  # uppercase
        "j5700000000000000000000000001qvO",  # letter O is not in the alphabet
        "j57000000000000000000000000i1qv0",  # nor is i
        "j5700000000000000000000000001qv1",  # bad footer
        _flip_last_char("jd777hjdbxa16v8yhn33xsr52s7ebzm8"),
        "jd777hjdbxa16v8yhn33xsr52s7ebzm8 ",
        "jd777hjdbxa16v8yhn33xsr52s7ebzm-",
        "0" * 32,  # table number 0
    ],
)
def test_decode_rejects_non_ids_with_invalid_id(bad):
    with pytest.raises(BadRequest) as info:
        ids.decode_id(bad)
    assert info.value.code == "InvalidId"
    assert not ids.is_valid_id(bad)


def test_decode_rejects_non_canonical_padding_bits():
    # A 32-char id carries 160 bits for 20 bytes; flipping bits of the last character can
    # only change the footer, but a 31-char id has 155 bits for 19 bytes: the last char has
    # 3 padding bits, which must be zero.
    canonical = ids.encode_id(5, bytes(16))
    assert len(canonical) == 31
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    last = alphabet.index(canonical[-1])
    for padding in range(1, 8):
        variant = canonical[:-1] + alphabet[last | padding]
        if variant != canonical:
            assert not ids.is_valid_id(variant)


def test_overlong_table_number_encodings_are_rejected():
    # Table 1 written as a two-byte VInt (0x81 0x00) is not canonical.
    body = bytes([0x81, 0x00]) + bytes(16)
    footer = ids._fletcher16(body).to_bytes(2, "little")
    with pytest.raises(BadRequest):
        ids.decode_id(ids._base32_encode(body + footer))


def test_is_valid_id_accepts_only_strings():
    assert not ids.is_valid_id(None)
    assert not ids.is_valid_id(12345)
    with pytest.raises(BadRequest):
        ids.decode_id(b"jd777hjdbxa16v8yhn33xsr52s7ebzm8")  # type: ignore[arg-type]


def test_new_internal_id_ends_with_the_day_number():
    internal_id = ids.new_internal_id(1745075425708.771)
    assert len(internal_id) == 16
    assert ids.day_of(internal_id) == 20197
    assert ids.new_internal_id() != ids.new_internal_id()


def test_fletcher16_sums_modulo_256_like_convex():
    # Convex's variant wraps at 256 (u8 arithmetic), unlike textbook Fletcher-16 (mod 255,
    # where "abcde" gives 0xC8F0). c0 = 97+98+99+100+101 = 495 ≡ 0xEF; c1 = Σ prefixes ≡ 0xC3.
    assert ids._fletcher16(b"") == 0
    assert ids._fletcher16(b"abcde") == 0xC3EF
    assert ids._fletcher16(b"\xff\xff") == 0xFDFE


def test_encode_id_rejects_bad_arguments():
    with pytest.raises(ValueError):
        ids.encode_id(0, bytes(16))
    with pytest.raises(ValueError):
        ids.encode_id(1, bytes(15))


def test_table_number_of():
    assert ids.table_number_of("jd777hjdbxa16v8yhn33xsr52s7ebzm8") == 10003
    assert ids.table_number_of("nope") is None
