"""Text search in the database layer: terms, prefix, filters, relevance, transactions,
read sets, schema lifecycle — on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.database.schema_change import apply_schema, finish_schema_change, start_schema_change
from bayou.database.search.tokens import QueryTerms, tokenize
from bayou.database.write_log import LogEntry
from bayou.errors import BadRequest

SEARCH_SCHEMA = {
    "tables": [
        {
            "tableName": "messages",
            "indexes": [],
            "searchIndexes": [
                {
                    "indexDescriptor": "search_body",
                    "searchField": "body",
                    "filterFields": ["channel", "meta.lang"],
                }
            ],
            "documentType": None,
        }
    ],
    "schemaValidation": False,
}


def search(text: str, *eqs: tuple[str, Any], index: str = "messages.search_body", **kw) -> dict:
    filters: list[dict[str, Any]] = [
        {"type": "Search", "fieldPath": kw.get("field", "body"), "value": text}
    ]
    filters += [{"type": "Eq", "fieldPath": f, "value": v} for f, v in eqs]
    ops = [{"limit": kw["limit"]}] if "limit" in kw else []
    return {"source": {"type": "Search", "indexName": index, "filters": filters}, "operators": ops}


async def insert_all(db: Database, *docs: dict[str, Any]) -> list[str]:
    tx = db.begin()
    ids = [await tx.insert("messages", d) for d in docs]
    await db.commit(tx)
    return ids


async def bodies(db: Database, query: dict) -> list[str]:
    return [d["body"] for d in await db.begin(read_only=True).query(query).collect()]


def test_tokenizer_matches_convex_simple_tokenizer() -> None:
    assert tokenize("Hello, World! it's 2024_x") == ["hello", "world", "it", "s", "2024", "x"]
    assert tokenize("a" * 32 + " ok") == ["ok"]  # 32 bytes or more: dropped
    q = QueryTerms.parse(" ".join(f"w{i}" for i in range(20)))
    assert len(q.exact) == 15 and q.prefix == "w15"  # the first 16 terms


async def test_search_prefix_filters_and_relevance(db: Database) -> None:
    await apply_schema(db, SEARCH_SCHEMA)
    await insert_all(
        db,
        {"body": "the rabbit ran", "channel": "a", "meta": {"lang": "en"}},
        {"body": "rabbit rabbit rabbit", "channel": "b"},
        {"body": "send request", "channel": "a"},
        {"body": "nothing here", "channel": "a"},
    )
    assert await bodies(db, search("rabbit")) == ["rabbit rabbit rabbit", "the rabbit ran"]
    assert set(await bodies(db, search("r"))) == {
        "the rabbit ran",
        "rabbit rabbit rabbit",
        "send request",
    }
    assert await bodies(db, search("RABBIT", ("channel", "a"))) == ["the rabbit ran"]
    assert await bodies(db, search("rabbit", ("meta.lang", "en"))) == ["the rabbit ran"]
    missing = {"$undefined": None}
    assert await bodies(db, search("rabbit", ("meta.lang", missing))) == ["rabbit rabbit rabbit"]
    assert await bodies(db, search("")) == []
    assert await bodies(db, search("rabbit", limit=1)) == ["rabbit rabbit rabbit"]


async def test_search_bad_input_errors(db: Database) -> None:
    await apply_schema(db, SEARCH_SCHEMA)
    await insert_all(db, {"body": "x", "channel": "a"})
    cases = {
        "IncorrectSearchField": search("x", field="channel"),
        "IncorrectFilterFieldError": search("x", ("author", "a")),
        "IndexNotFoundError": search("x", index="messages.nope"),
        "TooManyFilterConditionsInSearchQueryError": search("x", *[("channel", "a")] * 9),
    }
    for code, query in cases.items():
        with pytest.raises(BadRequest) as e:
            await db.begin().query(query).collect()
        assert e.value.code == code, code
    no_search = {"source": {"type": "Search", "indexName": "messages.search_body", "filters": []}}
    with pytest.raises(BadRequest) as e:
        await db.begin().query(no_search).collect()
    assert e.value.code == "MissingSearchFilterError"


async def test_search_sees_own_writes(db: Database) -> None:
    await apply_schema(db, SEARCH_SCHEMA)
    [old] = await insert_all(db, {"body": "hello old", "channel": "a"})
    tx = db.begin()
    await tx.insert("messages", {"body": "hello new", "channel": "a"})
    await tx.delete(old)
    assert [d["body"] for d in await tx.query(search("hello")).collect()] == ["hello new"]


async def test_search_read_set_is_hit_only_by_matching_writes(db: Database) -> None:
    await apply_schema(db, SEARCH_SCHEMA)
    await insert_all(db, {"body": "hello world", "channel": "a"})
    seen: list[LogEntry] = []
    db.add_commit_listener(seen.extend)
    reader = db.begin(read_only=True)
    await reader.query(search("hello", ("channel", "a"))).collect()
    reads = reader.finalize_reads()
    await insert_all(db, {"body": "goodbye", "channel": "a"})
    await insert_all(db, {"body": "hello there", "channel": "b"})
    assert all(reads.touched_by(e.keys) is None for e in seen)
    await insert_all(db, {"body": "Hello again", "channel": "a"})
    assert reads.touched_by(seen[-1].keys) is not None


async def test_concurrent_matching_insert_conflicts(db: Database) -> None:
    await apply_schema(db, SEARCH_SCHEMA)
    tx = db.begin()
    await tx.query(search("urgent")).collect()
    await tx.insert("messages", {"body": "handled", "channel": "a"})
    await insert_all(db, {"body": "urgent thing", "channel": "a"})
    with pytest.raises(Exception) as e:
        await db.commit(tx)
    assert "changed while this transaction" in str(e.value)


async def test_search_index_backfill_staging_and_restart(db: Database, open_db) -> None:
    await insert_all(db, *[{"body": f"doc {i} apple", "channel": "a"} for i in range(1200)])
    change = await start_schema_change(db, SEARCH_SCHEMA)
    assert [c.to_json() for c in change.added] == [
        {
            "name": "messages.search_body",
            "type": "search",
            "searchField": "body",
            "filterFields": ["channel", "meta.lang"],
        }
    ]
    await change.wait()
    with pytest.raises(BadRequest) as e:
        await db.begin().query(search("apple")).collect()
    assert e.value.code == "IndexBackfillingError"
    await run_transaction(db, lambda tx: finish_schema_change(tx, change))
    assert len(await db.begin().query(search("apple", limit=1024)).collect()) == 1024
    assert len(await db.begin().query(search("1199")).collect()) == 1
    await db.close()
    reopened = await open_db()
    assert [d["body"] for d in await reopened.begin().query(search("1199")).collect()] == [
        "doc 1199 apple"
    ]


async def test_collecting_more_than_1024_results_fails(db: Database) -> None:
    await apply_schema(db, SEARCH_SCHEMA)
    await insert_all(db, *[{"body": f"pear {i}", "channel": "a"} for i in range(1030)])
    assert len(await db.begin().query(search("pear", limit=1000)).collect()) == 1000
    with pytest.raises(BadRequest) as e:
        await db.begin().query(search("pear")).collect()
    assert e.value.code == "SearchQueryScannedTooManyDocumentsError"


async def test_patch_and_delete_maintain_postings(db: Database) -> None:
    await apply_schema(db, SEARCH_SCHEMA)
    [a, b] = await insert_all(db, {"body": "blue sky"}, {"body": "blue sea"})
    tx = db.begin()
    await tx.patch(a, {"body": "red sky"})
    await tx.delete(b)
    await db.commit(tx)
    assert await bodies(db, search("blue")) == []
    assert await bodies(db, search("red")) == ["red sky"]


async def test_staged_search_index_is_queryable_once_unstaged(db: Database) -> None:
    staged = {**SEARCH_SCHEMA["tables"][0]}
    staged["stagedSearchIndexes"] = staged.pop("searchIndexes")
    await apply_schema(db, {"tables": [staged], "schemaValidation": False})
    await insert_all(db, {"body": "hello"})
    with pytest.raises(BadRequest) as e:
        await db.begin().query(search("hello")).collect()
    assert e.value.code == "IndexStagedError"
    await apply_schema(db, SEARCH_SCHEMA)  # declared without `staged`: enabled
    assert await bodies(db, search("hello")) == ["hello"]


async def test_search_index_cannot_be_queried_as_a_database_index(db: Database) -> None:
    await apply_schema(db, SEARCH_SCHEMA)
    await insert_all(db, {"body": "hello"})
    query = {
        "source": {
            "type": "IndexRange",
            "indexName": "messages.search_body",
            "range": [],
            "order": "asc",
        },
        "operators": [],
    }
    with pytest.raises(BadRequest) as e:
        await db.begin().query(query).collect()
    assert e.value.code == "IndexNotFoundError"


async def test_prefix_expands_to_the_first_16_terms(db: Database) -> None:
    await apply_schema(db, SEARCH_SCHEMA)
    words = [f"pre{chr(ord('a') + i)}" for i in range(20)]  # prea … pret
    await insert_all(db, *[{"body": w} for w in words])
    assert sorted(await bodies(db, search("pre"))) == words[:16]
    reader = db.begin(read_only=True)
    await reader.query(search("pre")).collect()
    reads = reader.finalize_reads()
    seen: list[LogEntry] = []
    db.add_commit_listener(seen.extend)
    await insert_all(db, {"body": "prez"})  # beyond the 16th term: not read
    assert reads.touched_by(seen[-1].keys) is None
    await insert_all(db, {"body": "prea again"})
    assert reads.touched_by(seen[-1].keys) is not None
