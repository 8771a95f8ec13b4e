"""Schemas: index backfill, validation of existing and new documents, atomic switch."""

from __future__ import annotations

import pytest

from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.database.schema_change import apply_schema, finish_schema_change, start_schema_change
from bayou.errors import BadRequest, ValidationError

from .queries import index, schema
from .test_transaction import insert

STRING = {"type": "string"}
NUMBER = {"type": "number"}


def obj(**fields) -> dict:
    return {
        "type": "object",
        "value": {k: {"fieldType": v, "optional": False} for k, v in fields.items()},
    }


async def test_new_index_is_backfilled_with_existing_documents(db: Database) -> None:
    tx = db.begin()
    for i in range(1200):  # more than one backfill page
        await tx.insert("users", {"age": float(i % 7), "name": f"u{i}"})
    await db.commit(tx)
    change = await apply_schema(db, schema({"users": {"indexes": {"by_age": ["age"]}}}))
    assert [c.to_json() for c in change.added] == [
        {"name": "users.by_age", "type": "database", "fields": ["age"]}
    ]
    got = await db.begin().query(index("users.by_age", [("Eq", "age", 3.0)])).collect()
    assert len(got) == len([i for i in range(1200) if i % 7 == 3])
    assert all(d["age"] == 3.0 for d in got)


async def test_writes_during_and_after_backfill_are_indexed(db: Database) -> None:
    await insert(db, "users", {"age": 1.0})
    change = await start_schema_change(db, schema({"users": {"indexes": {"by_age": ["age"]}}}))
    moved = await insert(db, "users", {"age": 2.0})
    await change.wait()
    tx = db.begin()
    await tx.patch(moved, {"age": 5.0})
    await db.commit(tx)
    await run_transaction(db, lambda tx: finish_schema_change(tx, change))
    ages = [d["age"] for d in await db.begin().query(index("users.by_age", [])).collect()]
    assert ages == [1.0, 5.0]


async def test_index_is_not_queryable_before_the_schema_is_finished(db: Database) -> None:
    await insert(db, "users", {"age": 1.0})
    change = await start_schema_change(db, schema({"users": {"indexes": {"by_age": ["age"]}}}))
    await change.wait()
    with pytest.raises(BadRequest) as e:
        await db.begin().query(index("users.by_age", [])).collect()
    assert e.value.code == "IndexBackfillingError"


async def test_existing_documents_that_violate_the_schema_fail_it_by_name(db: Database) -> None:
    await insert(db, "messages", {"body": "ok"})
    bad = await insert(db, "messages", {"body": 5.0})
    with pytest.raises(BadRequest) as e:
        await apply_schema(
            db, schema({"messages": {"indexes": {"by_body": ["body"]}, "doc": obj(body=STRING)}})
        )
    assert bad in e.value.message and "messages" in e.value.message
    # Nothing changed: no active schema, the new index is not queryable.
    assert db.catalog.schema("", "active") is None
    with pytest.raises(BadRequest):
        await db.begin().query(index("messages.by_body", [])).collect()
    await insert(db, "messages", {"body": 6.0})  # still accepted: no schema is enforced


async def test_a_failed_schema_leaves_no_index_so_the_next_one_adds_it(db: Database) -> None:
    bad = await insert(db, "messages", {"body": 5.0})
    wanted = {"messages": {"indexes": {"by_body": ["body"]}, "doc": obj(body=STRING)}}
    with pytest.raises(BadRequest):
        await apply_schema(db, schema(wanted))
    assert "by_body" not in db.catalog.table("messages").indexes
    tx = db.begin()
    await tx.delete(bad)
    await db.commit(tx)
    change = await apply_schema(db, schema(wanted))
    assert [c.name for c in change.added] == ["by_body"]


async def test_active_schema_rejects_a_violating_write(db: Database) -> None:
    await apply_schema(db, schema({"messages": {"doc": obj(body=STRING)}}))
    tx = db.begin()
    with pytest.raises(ValidationError):
        await tx.insert("messages", {"body": 1.0})
    with pytest.raises(ValidationError):
        await tx.insert("messages", {"body": "x", "extra": True})
    id = await tx.insert("messages", {"body": "fine"})
    with pytest.raises(ValidationError):
        await tx.patch(id, {"body": None})


async def test_schema_validation_false_does_not_check(db: Database) -> None:
    await apply_schema(db, schema({"messages": {"doc": obj(body=STRING)}}, validation=False))
    await insert(db, "messages", {"body": 1.0})


async def test_a_write_violating_a_pending_schema_fails_that_schema(db: Database) -> None:
    change = await start_schema_change(db, schema({"m": {"doc": obj(n=NUMBER)}}))
    await change.wait()
    await insert(db, "m", {"n": "not a number"})  # the write stands
    with pytest.raises(BadRequest) as e:
        await run_transaction(db, lambda tx: finish_schema_change(tx, change))
    assert e.value.code == "SchemaValidationFailed"
    assert db.catalog.schema("", "active") is None


async def test_replacing_the_schema_drops_removed_indexes(db: Database) -> None:
    await apply_schema(db, schema({"u": {"indexes": {"a": ["x"], "b": ["y"]}}}))
    change = await apply_schema(db, schema({"u": {"indexes": {"a": ["x", "y"]}}}))
    assert {c.name for c in change.removed} == {"a", "b"}
    table = db.catalog.table("u")
    assert table.indexes["a"].fields == ("x", "y") and "b" not in table.indexes


async def test_schema_survives_reopen(open_db) -> None:
    db = await open_db()
    await apply_schema(
        db, schema({"messages": {"indexes": {"by_body": ["body"]}, "doc": obj(body=STRING)}})
    )
    await db.close()
    db = await open_db()
    assert db.catalog.schema("", "active") is not None
    with pytest.raises(ValidationError):
        await db.begin().insert("messages", {"body": 2.0})
    await db.begin().query(index("messages.by_body", [])).collect()


@pytest.mark.parametrize(
    "bad",
    [
        {"tables": "nope"},
        schema({"t": {"indexes": {"by_id": ["x"]}}}),
        schema({"t": {"indexes": {"i": ["_creationTime"]}}}),
        schema({"t": {"indexes": {"i": []}}}),
        schema({"_t": {}}),
        schema({"t": {"doc": {"type": "nonsense"}}}),
    ],
)
async def test_malformed_schemas_are_refused_before_anything_changes(db: Database, bad) -> None:
    before = db.latest_ts
    with pytest.raises(BadRequest):
        await start_schema_change(db, bad)
    assert db.latest_ts == before


async def test_tables_a_schema_introduces_appear_only_when_it_finishes(db: Database) -> None:
    change = await start_schema_change(db, schema({"fresh": {"indexes": {"by_x": ["x"]}}}))
    await change.wait()
    assert db.catalog.table("fresh") is None  # nothing visible before finish_push
    await run_transaction(db, lambda tx: finish_schema_change(tx, change))
    assert db.catalog.table("fresh").indexes["by_x"].queryable


async def test_a_table_created_while_its_schema_is_pending_gets_its_indexes(db: Database) -> None:
    from bayou.database.schema_change import complete_backfills

    change = await start_schema_change(db, schema({"fresh": {"indexes": {"by_x": ["x"]}}}))
    await change.wait()
    for x in (2.0, 1.0):
        await insert(db, "fresh", {"x": x})  # creates the table without the index
    backfill, _ = await run_transaction(db, lambda tx: finish_schema_change(tx, change))
    await complete_backfills(db, backfill)
    got = await db.begin().query(index("fresh.by_x", [])).collect()
    assert [d["x"] for d in got] == [1.0, 2.0]


# -- pushes that never finish ------------------------------------------------------------


async def _finish(db: Database, change) -> None:
    from bayou.database.schema_change import complete_backfills

    backfill, _ = await run_transaction(db, lambda tx: finish_schema_change(tx, change))
    await complete_backfills(db, backfill)


@pytest.mark.parametrize("replaced", [False, True], ids=["new index", "changed index"])
async def test_an_index_left_by_an_unfinished_push_is_backfilled_and_enabled_by_the_next(
    db: Database, replaced: bool
) -> None:
    # What `npx convex codegen` (start_push only) then `npx convex deploy` do.
    await insert(db, "things", {"a": 1.0, "b": 2.0})
    if replaced:
        await apply_schema(db, schema({"things": {"indexes": {"by_x": ["b"]}}}))
    wanted = schema({"things": {"indexes": {"by_x": ["a"]}}})
    abandoned = await start_schema_change(db, wanted)
    await abandoned.wait()
    await insert(db, "things", {"a": 3.0, "b": 4.0})
    change = await start_schema_change(db, wanted)
    await change.wait()
    assert change.error is None
    await _finish(db, change)
    got = await db.begin().query(index("things.by_x", [])).collect()
    assert [d["a"] for d in got] == [1.0, 3.0]


async def test_leftover_indexes_of_unfinished_pushes_are_removed(db: Database) -> None:
    await insert(db, "things", {"a": 1.0})
    abandoned = await start_schema_change(db, schema({"things": {"indexes": {"by_a": ["a"]}}}))
    await abandoned.wait()
    change = await start_schema_change(db, schema({"things": {"indexes": {}}}))
    await change.wait()
    await _finish(db, change)
    table = db.catalog.table("things")
    assert table is not None and "by_a" not in table.indexes


async def test_a_backfill_cut_short_by_a_restart_resumes(open_db) -> None:
    from bayou.database.schema_change import resume_backfills

    db = await open_db()
    await insert(db, "things", {"a": 1.0})
    # The schema introduces a table that a write created while it was pending: its index
    # is backfilled after the finishing commit — and the server stops before that.
    change = await start_schema_change(
        db, schema({"things": {"indexes": {}}, "later": {"indexes": {"by_a": ["a"]}}})
    )
    await change.wait()
    await insert(db, "later", {"a": 7.0})
    backfill, _ = await run_transaction(db, lambda tx: finish_schema_change(tx, change))
    assert backfill  # left for after the commit
    await db.close()
    reopened = await open_db()
    await resume_backfills(reopened)
    got = await reopened.begin().query(index("later.by_a", [])).collect()
    assert [d["a"] for d in got] == [7.0]
