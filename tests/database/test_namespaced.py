"""One transaction seen from a component's namespace (`in_namespace`): shared reads,
writes and limits; table names and ids resolved in the component's namespace."""

from __future__ import annotations

from bayou.database.database import Database
from bayou.database.namespaced import in_namespace

from .queries import scan


async def test_a_component_view_writes_into_the_same_transaction(db: Database) -> None:
    tx = db.begin()
    app_id = await tx.insert("items", {"owner": "app"})
    component = in_namespace(tx, "notes")
    component_id = await component.insert("items", {"owner": "notes"})
    # Same table name, two tables: each namespace sees its own.
    assert [d["owner"] for d in await tx.query(scan("items")).collect()] == ["app"]
    assert [d["owner"] for d in await component.query(scan("items")).collect()] == ["notes"]
    # An id of one namespace's table is not found from the other.
    assert await component.get(app_id) is None
    assert await tx.get(component_id) is None
    assert tx.documents_written == 2  # one transaction's limits
    await db.commit(tx)
    after = db.begin(read_only=True)
    assert (await in_namespace(after, "notes").get(component_id))["owner"] == "notes"
    assert db.catalog.table("items", "notes").namespace == "notes"


async def test_a_rolled_back_component_call_undoes_only_its_writes(db: Database) -> None:
    tx = db.begin()
    await tx.insert("items", {"n": 1.0})
    savepoint = tx.savepoint()
    await in_namespace(tx, "notes").insert("items", {"n": 2.0})
    tx.rollback_to(savepoint)
    await db.commit(tx)
    reader = db.begin(read_only=True)
    assert len(await reader.query(scan("items")).collect()) == 1
    assert await in_namespace(reader, "notes").query(scan("items")).collect() == []


async def test_views_of_views_resolve_to_the_base(db: Database) -> None:
    tx = db.begin()
    notes = in_namespace(tx, "notes")
    assert in_namespace(notes, "") is tx
    assert in_namespace(in_namespace(notes, "other"), "notes").namespace == "notes"
