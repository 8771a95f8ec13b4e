"""`Range` headers of file downloads."""

from __future__ import annotations

import pytest

from bayou.files.ranges import ByteRange, RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, None),
        ("bytes=0-9", ByteRange(0, 10)),
        ("bytes=10-", ByteRange(10, 100)),
        ("bytes=90-1000", ByteRange(90, 100)),  # cut to the file
        ("bytes=-5", ByteRange(95, 100)),  # the last five bytes
        ("bytes=-500", ByteRange(0, 100)),
        ("bytes= 3 - 4 ", ByteRange(3, 5)),
        ("items=0-9", None),  # not bytes: the whole file, as Convex
        ("bytes=x-y", None),
        ("bytes=9-3", None),
        ("bytes=", None),
    ],
)
def test_one_range_or_the_whole_file(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=100-", "bytes=-0"])
def test_several_ranges_or_one_past_the_end_are_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)


def test_an_empty_file_is_sent_whole() -> None:
    assert parse_range("bytes=0-10", 0) is None


def test_content_range() -> None:
    assert ByteRange(10, 20).content_range(100) == "bytes 10-19/100"
