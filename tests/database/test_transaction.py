"""Transactions: reads, writes, own-write visibility, snapshots, bad input."""

from __future__ import annotations

import pytest

from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.errors import BadRequest
from bayou.values import UNDEFINED, Int64, ids

from .queries import scan


async def insert(db: Database, table: str, value: dict) -> str:
    tx = db.begin()
    id = await tx.insert(table, value)
    await db.commit(tx)
    return id


async def test_insert_returns_a_valid_id_of_a_new_user_table(db: Database) -> None:
    id = await insert(db, "messages", {"body": "hi"})
    number, _ = ids.decode_id(id)
    assert number >= 10001
    assert db.catalog.table("messages").number == number


async def test_transaction_reads_its_own_insert_before_commit(db: Database) -> None:
    tx = db.begin()
    id = await tx.insert("messages", {"body": "hi", "n": Int64(3)})
    doc = await tx.get(id)
    assert doc["body"] == "hi" and doc["n"] == Int64(3) and doc["_id"] == id
    assert isinstance(doc["_creationTime"], float)
    assert [d["_id"] for d in await tx.query(scan("messages")).collect()] == [id]


async def test_committed_write_is_visible_to_later_transactions_only(db: Database) -> None:
    reader_before = db.begin(read_only=True)
    id = await insert(db, "messages", {"body": "hi"})
    assert await reader_before.get(id) is None
    assert (await db.begin().get(id))["body"] == "hi"


async def test_uncommitted_writes_are_invisible_to_others(db: Database) -> None:
    tx = db.begin()
    id = await tx.insert("messages", {"body": "draft"})
    assert await db.begin().get(id) is None


async def test_patch_merges_fields_and_undefined_removes_one(db: Database) -> None:
    id = await insert(db, "t", {"a": 1.0, "b": "x", "c": True})
    tx = db.begin()
    await tx.patch(id, {"a": 2.0, "b": UNDEFINED, "d": None})
    await db.commit(tx)
    doc = await db.begin().get(id)
    assert {k: v for k, v in doc.items() if not k.startswith("_")} == {
        "a": 2.0,
        "c": True,
        "d": None,
    }


async def test_replace_keeps_system_fields(db: Database) -> None:
    id = await insert(db, "t", {"a": 1.0})
    before = await db.begin().get(id)
    tx = db.begin()
    await tx.replace(id, {"z": "only"})
    await db.commit(tx)
    doc = await db.begin().get(id)
    assert doc == {"_id": id, "_creationTime": before["_creationTime"], "z": "only"}


async def test_changing_a_system_field_is_refused(db: Database) -> None:
    id = await insert(db, "t", {"a": 1.0})
    tx = db.begin()
    with pytest.raises(BadRequest) as e:
        await tx.patch(id, {"_creationTime": 5.0})
    assert e.value.code == "InvalidCreationTimeError"


async def test_delete_then_get_is_none_and_delete_again_fails(db: Database) -> None:
    id = await insert(db, "t", {"a": 1.0})
    tx = db.begin()
    await tx.delete(id)
    assert await tx.get(id) is None
    await db.commit(tx)
    assert await db.begin().get(id) is None
    with pytest.raises(BadRequest) as e:
        await db.begin().delete(id)
    assert e.value.code == "NonexistentDocument"


async def test_insert_then_delete_in_one_transaction_leaves_nothing(db: Database) -> None:
    await insert(db, "t", {"keep": True})
    tx = db.begin()
    id = await tx.insert("t", {"a": 1.0})
    await tx.delete(id)
    await db.commit(tx)
    assert await db.begin().get(id) is None
    assert len(await db.begin().query(scan("t")).collect()) == 1


async def test_patch_of_nonexistent_document_is_refused(db: Database) -> None:
    id = await insert(db, "t", {"a": 1.0})
    tx = db.begin()
    await tx.delete(id)
    await db.commit(tx)
    with pytest.raises(BadRequest) as e:
        await db.begin().patch(id, {"a": 2.0})
    assert e.value.code == "NonexistentDocument"
    assert "nonexistent document ID" in e.value.message


@pytest.mark.parametrize(
    "bad", ["", "not-an-id", "j5700000000000000000000000001qv1", "J5700000000000000000000000001QV0"]
)
async def test_invalid_ids_are_refused(db: Database, bad: str) -> None:
    await insert(db, "t", {"a": 1.0})
    with pytest.raises(BadRequest) as e:
        await db.begin().get(bad)
    assert e.value.code == "InvalidId"


async def test_id_of_another_table_is_refused_when_a_table_is_named(db: Database) -> None:
    id = await insert(db, "a", {"x": 1.0})
    await insert(db, "b", {"x": 1.0})
    with pytest.raises(BadRequest) as e:
        await db.begin().get(id, table="b")
    assert e.value.code == "InvalidId" and "'a'" in e.value.message


async def test_id_of_an_unknown_table_reads_as_none(db: Database) -> None:
    assert await db.begin().get(ids.encode_id(10099, bytes(16))) is None


async def test_user_functions_cannot_touch_system_tables(db: Database) -> None:
    tx = db.begin()
    with pytest.raises(BadRequest) as e:
        await tx.insert("_tables", {"name": "x"})
    assert e.value.code == "ReadOnlyTable"
    with pytest.raises(BadRequest):
        tx.query(scan("_index"))


@pytest.mark.parametrize(
    "value, code",
    [
        ({"_secret": 1.0}, "InvalidDocument"),
        ({"$bad": 1.0}, None),
        ({"a": {"$bad": 1.0}}, None),
    ],
)
async def test_bad_field_names_are_refused_and_nothing_is_written(
    db: Database, value, code
) -> None:
    tx = db.begin()
    with pytest.raises(BadRequest) as e:
        await tx.insert("t", value)
    if code:
        assert e.value.code == code
    assert not [w for w in tx.writes.values() if w.table.name == "t" and w.new is not None]


async def test_too_deep_document_is_refused(db: Database) -> None:
    deep: dict = {}
    cur = deep
    for _ in range(20):
        cur["x"] = {}
        cur = cur["x"]
    tx = db.begin()
    with pytest.raises(BadRequest):
        await tx.insert("t", {"deep": deep})


async def test_too_large_document_is_refused(db: Database) -> None:
    with pytest.raises(BadRequest):
        await db.begin().insert("t", {"big": "x" * (1 << 20)})


async def test_query_transaction_cannot_write(db: Database) -> None:
    with pytest.raises(BadRequest) as e:
        await db.begin(read_only=True).insert("t", {"a": 1.0})
    assert e.value.code == "ReadOnlyTransaction"


async def test_creation_times_increase_within_a_transaction(db: Database) -> None:
    tx = db.begin()
    for i in range(5):
        await tx.insert("t", {"i": float(i)})
    times = [d["_creationTime"] for d in await tx.query(scan("t")).collect()]
    assert times == sorted(times) and len(set(times)) == 5
    assert [d["i"] for d in await tx.query(scan("t")).collect()] == [0.0, 1.0, 2.0, 3.0, 4.0]


async def test_commit_timestamps_strictly_increase(db: Database) -> None:
    tss = []
    for i in range(5):
        _, ts = await run_transaction(db, lambda tx, i=i: tx.insert("t", {"i": float(i)}))
        tss.append(ts)
    assert tss == sorted(tss) and len(set(tss)) == 5
    assert db.latest_ts == tss[-1]


async def test_reopening_keeps_data_tables_and_ids(open_db) -> None:
    db = await open_db()
    id = await insert(db, "messages", {"body": "kept"})
    number = db.catalog.table("messages").number
    await db.close()
    db2 = await open_db()
    assert (await db2.begin().get(id))["body"] == "kept"
    assert db2.catalog.table("messages").number == number
    id2 = await insert(db2, "other", {"x": 1.0})
    assert ids.decode_id(id2)[0] == number + 1


async def test_history_reads_see_the_past(db: Database) -> None:
    id = await insert(db, "t", {"v": 1.0})
    ts1 = db.latest_ts
    tx = db.begin()
    await tx.patch(id, {"v": 2.0})
    await db.commit(tx)
    assert (await db.begin(read_only=True, ts=ts1).get(id))["v"] == 1.0
    assert (await db.begin(read_only=True).get(id))["v"] == 2.0
