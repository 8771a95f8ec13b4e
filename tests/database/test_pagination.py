"""Pagination: pages, cursors, end cursors for stable re-runs, split cursors, tampering."""

from __future__ import annotations

import pytest

from bayou.database.database import Database
from bayou.database.pagination import InvalidCursor, PaginationOptions, paginate
from bayou.errors import BadRequest

from .queries import field, lit, scan, where


@pytest.fixture
async def numbers(db: Database) -> Database:
    tx = db.begin()
    for i in range(10):
        await tx.insert("nums", {"i": float(i)})
    await db.commit(tx)
    return db


async def page(db: Database, query, **opts):
    return await paginate(db.begin(read_only=True), query, PaginationOptions.from_json(opts))


def values(result) -> list[float]:
    return [d["i"] for d in result["page"]]


async def test_pages_cover_everything_once_and_end_with_is_done(numbers: Database) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        result = await page(numbers, scan("nums"), numItems=3, cursor=cursor)
        seen += values(result)
        pages += 1
        cursor = result["continueCursor"]
        if result["isDone"]:
            break
    assert seen == [float(i) for i in range(10)]
    assert pages == 4


async def test_an_exactly_full_page_is_not_done_and_the_next_is_empty(numbers: Database) -> None:
    first = await page(numbers, scan("nums"), numItems=10, cursor=None)
    assert len(first["page"]) == 10 and first["isDone"] is False
    last = await page(numbers, scan("nums"), numItems=10, cursor=first["continueCursor"])
    assert last["page"] == [] and last["isDone"] is True


async def test_end_cursor_makes_a_rerun_grow_instead_of_shift(numbers: Database) -> None:
    first = await page(numbers, scan("nums"), numItems=3, cursor=None)
    end = first["continueCursor"]
    tx = numbers.begin()
    docs = await tx.query(scan("nums")).collect()
    await tx.delete(docs[0]["_id"])
    await numbers.commit(tx)
    rerun = await page(numbers, scan("nums"), numItems=3, cursor=None, endCursor=end)
    assert values(rerun) == [1.0, 2.0]
    assert rerun["continueCursor"] == end


async def test_filters_apply_within_pages(numbers: Database) -> None:
    q = scan("nums", "desc", where({"$gte": [field("i"), lit(5.0)]}))
    result = await page(numbers, q, numItems=3, cursor=None)
    assert values(result) == [9.0, 8.0, 7.0]
    result = await page(numbers, q, numItems=3, cursor=result["continueCursor"])
    assert values(result) == [6.0, 5.0]


async def test_maximum_rows_read_splits_the_page(numbers: Database) -> None:
    result = await page(numbers, scan("nums"), numItems=8, cursor=None, maximumRowsRead=4)
    assert values(result) == [0.0, 1.0, 2.0, 3.0]
    assert result["pageStatus"] == "SplitRequired"
    assert "splitCursor" in result
    rest = await page(numbers, scan("nums"), numItems=8, cursor=result["continueCursor"])
    assert values(rest)[0] == 4.0


async def test_a_cursor_from_another_query_is_refused(numbers: Database) -> None:
    result = await page(numbers, scan("nums"), numItems=3, cursor=None)
    with pytest.raises(InvalidCursor) as e:
        await page(numbers, scan("nums", "desc"), numItems=3, cursor=result["continueCursor"])
    assert e.value.data == {"isConvexSystemError": True, "paginationError": "InvalidCursor"}


async def test_a_tampered_cursor_is_refused(numbers: Database) -> None:
    result = await page(numbers, scan("nums"), numItems=3, cursor=None)
    cursor = result["continueCursor"]
    forged = cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB")
    for bad in (forged, "garbage!", ""):
        with pytest.raises(InvalidCursor):
            await page(numbers, scan("nums"), numItems=3, cursor=bad)


@pytest.mark.parametrize(
    "opts",
    [
        {"numItems": -1},
        {"numItems": 40000},
        {"numItems": "3"},
        {"numItems": 3, "maximumRowsRead": 0},
    ],
)
async def test_bad_pagination_options_are_refused(numbers: Database, opts) -> None:
    with pytest.raises(BadRequest):
        await page(numbers, scan("nums"), cursor=None, **opts)
