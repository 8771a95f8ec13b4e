"""Bounded decoding of compressed bodies: bombs stop at the limit, real data round-trips."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from bayou.server.decompression import BoundedDecoder, InvalidData, TooLarge, UnknownCoding

MiB = 1024 * 1024
PAYLOAD = b'{"body": "' + bytes(range(32, 127)) * 2000 + b'"}'


def zeros(coding: str, size: int) -> bytes:
    """`size` zero bytes compressed with `coding`, built in pieces (never `size` at once)."""
    chunk = b"\0" * MiB
    if coding == "br":
        compressor = brotli.Compressor(quality=5)
        return b"".join(
            [*(compressor.process(chunk) for _ in range(size // MiB)), compressor.finish()]
        )
    z = zlib.compressobj(9, wbits={"gzip": 31, "deflate": 15}[coding])
    return b"".join([*(z.compress(chunk) for _ in range(size // MiB)), z.flush()])


def decode(coding: str | None, data: bytes, limit: int, piece: int = 65536) -> bytes:
    decoder = BoundedDecoder(coding, limit)
    for i in range(0, len(data), piece):
        decoder.feed(data[i : i + piece])
    return bytes(decoder.finish())


@pytest.mark.parametrize(
    ("coding", "size"), [("br", 512 * MiB), ("gzip", 64 * MiB), ("deflate", 64 * MiB)]
)
def test_a_bomb_stops_decoding_at_the_limit(coding: str, size: int) -> None:
    decoder = BoundedDecoder(coding, 4 * MiB)
    data = zeros(coding, size)
    with pytest.raises(TooLarge):
        for i in range(0, len(data), 65536):
            decoder.feed(data[i : i + 65536])
        decoder.finish()
    assert len(decoder.output) <= 4 * MiB


@pytest.mark.parametrize(
    ("coding", "data"),
    [
        ("br", brotli.compress(PAYLOAD)),
        ("gzip", gzip.compress(PAYLOAD)),
        ("deflate", zlib.compress(PAYLOAD)),
        ("identity", PAYLOAD),
        (None, PAYLOAD),
        (" GZIP ", gzip.compress(PAYLOAD)),
    ],
)
@pytest.mark.parametrize("piece", [1, 1000, 10**9])
def test_bodies_within_the_limit_decode_whatever_their_pieces(
    coding: str | None, data: bytes, piece: int
) -> None:
    assert decode(coding, data, len(PAYLOAD), piece) == PAYLOAD


def test_one_byte_over_the_limit_is_too_large() -> None:
    for coding, data in (
        ("br", brotli.compress(PAYLOAD)),
        ("gzip", gzip.compress(PAYLOAD)),
        ("deflate", zlib.compress(PAYLOAD)),
        ("identity", PAYLOAD),
    ):
        with pytest.raises(TooLarge):
            decode(coding, data, len(PAYLOAD) - 1)


def test_gzip_members_back_to_back_decode_as_one_body() -> None:
    data = gzip.compress(PAYLOAD) + gzip.compress(PAYLOAD) + b"\0\0"
    assert decode("gzip", data, 2 * len(PAYLOAD), piece=7) == PAYLOAD + PAYLOAD


@pytest.mark.parametrize(
    ("coding", "data"),
    [
        ("br", b"not brotli"),
        ("gzip", b"not gzip"),
        ("deflate", b"not deflate"),
        ("br", brotli.compress(PAYLOAD)[:-4]),
        ("gzip", gzip.compress(PAYLOAD)[:-4]),
        ("deflate", zlib.compress(PAYLOAD)[:-4]),
        ("br", brotli.compress(PAYLOAD) + b"junk"),
        ("gzip", gzip.compress(PAYLOAD) + b"junk"),
        ("deflate", zlib.compress(PAYLOAD) + b"junk"),
    ],
)
def test_data_that_is_not_of_its_coding_is_invalid(coding: str, data: bytes) -> None:
    with pytest.raises(InvalidData):
        decode(coding, data, 10 * len(PAYLOAD))


def test_an_unknown_coding_is_refused() -> None:
    with pytest.raises(UnknownCoding):
        BoundedDecoder("compress", 10)
