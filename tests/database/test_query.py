"""Queries: scans, index ranges, filters, operators, own writes, limits, errors."""

from __future__ import annotations

import pytest

from bayou.database.database import Database
from bayou.database.limits import TransactionLimits
from bayou.database.schema_change import apply_schema
from bayou.errors import BadRequest
from bayou.values import UNDEFINED, Int64

from .queries import field, index, limit, lit, scan, schema, where
from .test_transaction import insert

MESSAGES = schema(
    {
        "messages": {
            "indexes": {
                "by_channel": ["channel"],
                "by_channel_author": ["channel", "author"],
                "by_n": ["n"],
            }
        }
    },
    validation=False,
)


@pytest.fixture
async def messages(db: Database) -> Database:
    await apply_schema(db, MESSAGES)
    rows = [
        ("a", "ann", 1.0),
        ("a", "bob", 2.0),
        ("b", "ann", 3.0),
        ("a", "cat", 4.0),
        ("b", "bob", 5.0),
    ]
    for channel, author, n in rows:
        await insert(db, "messages", {"channel": channel, "author": author, "n": n})
    await insert(db, "messages", {"channel": "c", "author": "dan"})  # no n
    return db


async def ns(db: Database, query) -> list:
    return [d.get("n") for d in await db.begin(read_only=True).query(query).collect()]


async def test_full_scan_is_in_creation_order_both_ways(messages: Database) -> None:
    assert await ns(messages, scan("messages")) == [1.0, 2.0, 3.0, 4.0, 5.0, None]
    assert await ns(messages, scan("messages", "desc")) == [None, 5.0, 4.0, 3.0, 2.0, 1.0]


async def test_scan_of_a_missing_table_is_empty(db: Database) -> None:
    assert await db.begin().query(scan("nothing")).collect() == []


async def test_index_equality_prefix(messages: Database) -> None:
    assert await ns(messages, index("messages.by_channel", [("Eq", "channel", "a")])) == [
        1.0,
        2.0,
        4.0,
    ]
    assert await ns(
        messages,
        index("messages.by_channel_author", [("Eq", "author", "ann"), ("Eq", "channel", "b")]),
    ) == [3.0]


async def test_index_bounds_and_order(messages: Database) -> None:
    q = index("messages.by_n", [("Gt", "n", 1.0), ("Lte", "n", 4.0)])
    assert await ns(messages, q) == [2.0, 3.0, 4.0]
    q = index("messages.by_n", [("Gte", "n", 2.0), ("Lt", "n", 4.0)], "desc")
    assert await ns(messages, q) == [3.0, 2.0]


async def test_undefined_matches_missing_fields(messages: Database) -> None:
    assert await ns(messages, index("messages.by_n", [("Eq", "n", UNDEFINED)])) == [None]
    assert await ns(messages, index("messages.by_n", [("Gt", "n", UNDEFINED)])) == [
        1.0,
        2.0,
        3.0,
        4.0,
        5.0,
    ]


async def test_int64_sorts_before_every_float(db: Database) -> None:
    await apply_schema(db, MESSAGES)
    for v in (Int64(100), 0.5, Int64(-3), -1e300, None, "s"):
        await insert(db, "messages", {"n": v})
    got = await ns(db, index("messages.by_n", []))
    assert got == [None, Int64(-3), Int64(100), -1e300, 0.5, "s"]


@pytest.mark.parametrize(
    "bounds, code",
    [
        ([("Eq", "author", "ann")], "InvalidIndexRange"),  # skips `channel`
        ([("Gt", "channel", "a"), ("Eq", "author", "x")], "InvalidIndexRange"),
        ([("Gt", "channel", "a"), ("Gt", "author", "x")], "BoundsOnMultipleFields"),
        ([("Eq", "channel", "a"), ("Eq", "channel", "b")], "AlreadyDefinedBound"),
        ([("Gt", "channel", "a"), ("Gte", "channel", "b")], "AlreadyDefinedBound"),
        ([("Eq", "body", "x")], "FieldNotInIndex"),
    ],
)
async def test_invalid_index_ranges_are_refused(messages: Database, bounds, code) -> None:
    with pytest.raises(BadRequest) as e:
        await messages.begin().query(index("messages.by_channel_author", bounds)).collect()
    assert e.value.code == code


async def test_unknown_index_is_refused_with_the_known_ones(messages: Database) -> None:
    with pytest.raises(BadRequest) as e:
        await messages.begin().query(index("messages.by_nope", [])).collect()
    assert e.value.code == "IndexNotFoundError" and "by_channel" in e.value.message


async def test_filters_compare_in_total_order(messages: Database) -> None:
    q = scan(
        "messages",
        "asc",
        where(
            {"$and": [{"$gte": [field("n"), lit(2.0)]}, {"$neq": [field("author"), lit("cat")]}]}
        ),
    )
    assert await ns(messages, q) == [2.0, 3.0, 5.0]
    q = scan(
        "messages", "asc", where({"$lt": [field("n"), lit(Int64(0))]})
    )  # only missing n < Int64
    assert await ns(messages, q) == [None]
    odd = {"$eq": [{"$mod": [field("n"), lit(2.0)]}, lit(1.0)]}
    q = scan("messages", "asc", where({"$and": [{"$gte": [field("n"), lit(0.0)]}, odd]}))
    assert await ns(messages, q) == [1.0, 3.0, 5.0]


@pytest.mark.parametrize(
    "expr",
    [
        {"$add": [field("n"), lit(Int64(1))]},  # float + int64
        {"$add": [field("author"), lit(1.0)]},
        {"$and": [lit(1.0)]},
        {"$not": lit("x")},
    ],
)
async def test_filter_type_errors_are_eval_errors(messages: Database, expr) -> None:
    with pytest.raises(BadRequest) as e:
        await (
            messages.begin()
            .query(scan("messages", "asc", where({"$eq": [expr, lit(True)]})))
            .collect()
        )
    assert e.value.code == "EvalError"


async def test_non_boolean_filter_is_an_error(messages: Database) -> None:
    with pytest.raises(BadRequest) as e:
        await messages.begin().query(scan("messages", "asc", where(field("n")))).collect()
    assert e.value.code == "EvalError"


async def test_int64_overflow_and_division_by_zero(db: Database) -> None:
    await insert(db, "t", {"n": Int64(2**63 - 1)})
    for expr in ({"$add": [field("n"), lit(Int64(1))]}, {"$div": [field("n"), lit(Int64(0))]}):
        with pytest.raises(BadRequest) as e:
            await (
                db.begin().query(scan("t", "asc", where({"$eq": [expr, lit(Int64(0))]}))).collect()
            )
        assert e.value.code == "EvalError"


async def test_limit_and_filter_compose_in_order(messages: Database) -> None:
    q = scan("messages", "asc", limit(3), where({"$gt": [field("n"), lit(1.0)]}))
    assert await ns(messages, q) == [2.0, 3.0]
    q = scan("messages", "asc", where({"$gt": [field("n"), lit(1.0)]}), limit(3))
    assert await ns(messages, q) == [2.0, 3.0, 4.0]
    assert await ns(messages, scan("messages", "asc", limit(0))) == []


async def test_queries_see_the_transactions_own_writes_in_index_order(messages: Database) -> None:
    tx = messages.begin()
    await tx.insert("messages", {"channel": "a", "author": "zed", "n": 2.5})
    first = (await tx.query(scan("messages")).collect())[0]
    await tx.delete(first["_id"])
    await tx.patch(
        (await tx.query(index("messages.by_n", [("Eq", "n", 5.0)])).collect())[0]["_id"], {"n": 0.0}
    )
    got = [d["n"] for d in await tx.query(index("messages.by_n", [("Gte", "n", 0.0)])).collect()]
    assert got == [0.0, 2.0, 2.5, 3.0, 4.0]
    got = [
        d["n"]
        for d in await tx.query(index("messages.by_n", [("Gte", "n", 0.0)], "desc")).collect()
    ]
    assert got == [4.0, 3.0, 2.5, 2.0, 0.0]


async def test_streaming_in_batches_over_many_pages(db: Database) -> None:
    tx = db.begin()
    for i in range(700):
        await tx.insert("big", {"i": float(i)})
    await db.commit(tx)
    stream = db.begin().query(scan("big", "desc"))
    seen = []
    while batch := await stream.next_batch(100):
        seen.extend(d["i"] for d in batch)
    assert seen == [float(i) for i in reversed(range(700))]


async def test_documents_read_limit(db: Database) -> None:
    tx = db.begin()
    for i in range(20):
        await tx.insert("t", {"i": float(i)})
    await db.commit(tx)
    small = db.begin(limits=TransactionLimits(documents_read=10))
    with pytest.raises(BadRequest) as e:
        await small.query(scan("t")).collect()
    assert e.value.code == "TooManyDocumentsRead"


async def test_write_limits(db: Database) -> None:
    tx = db.begin(limits=TransactionLimits(documents_written=3))
    for i in range(3):
        await tx.insert("t", {"i": float(i)})
    with pytest.raises(BadRequest) as e:
        await tx.insert("t", {"i": 3.0})
    assert e.value.code == "TooManyWrites"
    tx = db.begin(limits=TransactionLimits(bytes_written=100))
    with pytest.raises(BadRequest) as e:
        await tx.insert("t", {"s": "x" * 200})
    assert e.value.code == "TooManyBytesWritten"


async def test_index_reads_from_the_document_cache_match_reads_from_storage(
    messages: Database,
) -> None:
    """Over a local database an index range takes its documents from the document cache
    when it knows them: the documents, to the type of every value and in both orders,
    must be those decoded from storage."""
    from bayou.values import json as vjson

    db = messages
    tx = db.begin()
    for n, extra in ((6.0, {"big": Int64(2**60), "neg": -0.0}), (7.0, {"raw": b"\x00\xff"})):
        await tx.insert("messages", {"channel": "c", "author": "dan", "n": n, **extra})
    await db.commit(tx)
    for order in ("asc", "desc"):
        query = index("messages.by_n", [("Gte", "n", 2.0)], order)
        await db.begin().query(query).collect()  # at the latest timestamp: fills the cache
        hits = db.documents.hits
        cached = await db.begin().query(query).collect()
        assert (db.documents.hits - hits == 6) == db.persistence.local_reads
        db.documents.clear()
        stored = await db.begin().query(query).collect()
        assert [vjson.dumps(d) for d in cached] == [vjson.dumps(d) for d in stored]
        assert [type(d["n"]) for d in cached] == [float] * len(stored) == [float] * 6
        assert [d["n"] for d in cached] == sorted((d["n"] for d in stored), reverse=order == "desc")
