"""Bayou's on-disk format is versioned: a database written by a newer Bayou is refused
with a message that says what to do, and nothing in it is changed."""

from __future__ import annotations

import pytest

from bayou.database.database import Database
from bayou.errors import InternalError
from tests.database.conftest import CURSOR_KEY


async def test_a_database_from_a_newer_bayou_is_refused(make_persistence) -> None:
    db = await Database.open(make_persistence(), cursor_key=CURSOR_KEY)
    await db.persistence.write([], [], {"format": 2})
    await db.close()
    with pytest.raises(InternalError) as refused:
        await Database.open(make_persistence(), cursor_key=CURSOR_KEY)
    assert refused.value.code == "DatabaseFromNewerBayou"
    assert "written by a newer Bayou (on-disk format 2" in refused.value.message
    assert "upgrade Bayou" in refused.value.message
    persistence = make_persistence()
    await persistence.open()
    try:
        assert (await persistence.load_globals())["format"] == 2
    finally:
        await persistence.close()


async def test_a_database_of_this_format_opens_again(make_persistence) -> None:
    db = await Database.open(make_persistence(), cursor_key=CURSOR_KEY)
    tx = db.begin()
    await tx.insert("kept", {"n": 1.0})
    await db.commit(tx)
    await db.close()
    again = await Database.open(make_persistence(), cursor_key=CURSOR_KEY)
    try:
        assert again.catalog.table("kept") is not None
    finally:
        await again.close()
