"""Vector search in the database layer: cosine order, filters, limits, freshness, errors."""

from __future__ import annotations

import math
import random

import pytest

from bayou.database.database import Database
from bayou.database.schema_change import apply_schema
from bayou.database.search.vector_query import vector_search
from bayou.errors import BadRequest

VECTOR_SCHEMA = {
    "tables": [
        {
            "tableName": "docs",
            "indexes": [],
            "vectorIndexes": [
                {
                    "indexDescriptor": "by_embedding",
                    "vectorField": "embedding",
                    "dimensions": 3,
                    "filterFields": ["kind"],
                }
            ],
            "documentType": None,
        }
    ],
    "schemaValidation": False,
}


def eq(field: str, value) -> dict:
    return {"$eq": [{"$field": field}, {"$literal": value}]}


def query(vector, limit=None, expressions=None, index="docs.by_embedding") -> dict:
    q = {"indexName": index, "vector": vector, "expressions": expressions}
    if limit is not None:
        q["limit"] = limit
    return q


async def insert(db: Database, *docs: dict) -> list[str]:
    tx = db.begin()
    ids = [await tx.insert("docs", d) for d in docs]
    await db.commit(tx)
    return ids


async def test_cosine_order_scores_filters_and_freshness(db: Database) -> None:
    await apply_schema(db, VECTOR_SCHEMA)
    a, b, c, _ = await insert(
        db,
        {"embedding": [1.0, 0.0, 0.0], "kind": "x"},
        {"embedding": [1.0, 1.0, 0.0], "kind": "y"},
        {"embedding": [0.0, 0.0, 2.0], "kind": "x"},
        {"embedding": [1.0, 2.0], "kind": "x"},  # wrong dimensions: not indexed
    )
    got = await vector_search(db, query([2.0, 0.0, 0.0]))
    assert [r["_id"] for r in got] == [a, b, c]
    assert got[0]["_score"] == pytest.approx(1.0)
    assert got[1]["_score"] == pytest.approx(1 / math.sqrt(2))
    assert got[2]["_score"] == pytest.approx(0.0)
    got = await vector_search(db, query([1.0, 0.0, 0.0], 1))
    assert [r["_id"] for r in got] == [a]
    got = await vector_search(db, query([1.0, 0.0, 0.0], None, eq("kind", "x")))
    assert [r["_id"] for r in got] == [a, c]
    either = {"$or": [eq("kind", "y"), eq("kind", "z")]}
    assert [r["_id"] for r in await vector_search(db, query([1.0, 0, 0], None, either))] == [b]
    # Written after the cache loaded: found by the next search; deletes disappear.
    [d] = await insert(db, {"embedding": [-1.0, 0.0, 0.0], "kind": "z"})
    tx = db.begin()
    await tx.delete(a)
    await tx.patch(c, {"kind": "z"})
    await db.commit(tx)
    got = await vector_search(db, query([1.0, 0.0, 0.0], None, either))
    assert [r["_id"] for r in got] == [b, c, d]
    assert got[-1]["_score"] == pytest.approx(-1.0)


async def test_vector_search_errors(db: Database) -> None:
    await apply_schema(db, VECTOR_SCHEMA)
    await insert(db, {"embedding": [1.0, 0.0, 0.0], "kind": "x"})
    cases = {
        "VectorDimensionsMismatch": query([1.0, 0.0]),
        "VectorLimitTooLargeError": query([1.0, 0.0, 0.0], 257),
        "InvalidVectorQuery": query([1.0, None, 0.0]),
        "IncorrectVectorFilterField": query([1.0, 0, 0], None, eq("other", 1.0)),
        "IndexNotFoundError": query([1.0, 0, 0], index="docs.nope"),
        "TooManyElementsInVectorQueryError": query(
            [1.0, 0, 0], None, {"$or": [eq("kind", str(i)) for i in range(65)]}
        ),
    }
    for code, q in cases.items():
        with pytest.raises(BadRequest) as e:
            await vector_search(db, q)
        assert e.value.code == code, code
    bad_dims = {**VECTOR_SCHEMA["tables"][0]}
    bad_dims["vectorIndexes"] = [{**bad_dims["vectorIndexes"][0], "dimensions": 4097}]
    with pytest.raises(BadRequest) as e:
        await apply_schema(db, {"tables": [bad_dims], "schemaValidation": False})
    assert e.value.code == "InvalidVectorDimensionError"
    assert "Dimensions 4097 must be between 2 and 4096." in e.value.message


async def test_exact_search_matches_brute_force(db: Database) -> None:
    schema = {**VECTOR_SCHEMA}
    table = {**schema["tables"][0]}
    table["vectorIndexes"] = [{**table["vectorIndexes"][0], "dimensions": 16}]
    await apply_schema(db, {"tables": [table], "schemaValidation": False})
    rng = random.Random(7)
    vectors = [[rng.gauss(0, 1) for _ in range(16)] for _ in range(300)]
    ids = await insert(db, *[{"embedding": v, "kind": "x"} for v in vectors])
    q = [rng.gauss(0, 1) for _ in range(16)]

    def cos(v):
        return sum(x * y for x, y in zip(v, q, strict=True)) / math.sqrt(
            sum(x * x for x in v) * sum(y * y for y in q)
        )

    expected = sorted(range(300), key=lambda i: -cos(vectors[i]))[:10]
    got = await vector_search(db, query(q, 10))
    assert [r["_id"] for r in got] == [ids[i] for i in expected]
