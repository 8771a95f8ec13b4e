"""A second server on the same PostgreSQL database takes over; the first stops committing."""

from __future__ import annotations

import pytest

from bayou.database.retry import run_transaction
from bayou.errors import BayouError

from .queries import scan


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
async def test_a_deposed_database_refuses_to_commit_and_reports_it(open_db) -> None:
    first = await open_db()
    await run_transaction(first, lambda tx: tx.insert("t", {"who": "first"}))
    second = await open_db()  # takes the writer lease
    with pytest.raises(BayouError) as e:
        await run_transaction(first, lambda tx: tx.insert("t", {"who": "late"}))
    assert e.value.code == "LeaseLost"
    assert first.fatal_event.is_set() and first.fatal is not None
    with pytest.raises(BayouError):  # and stays refused
        await run_transaction(first, lambda tx: tx.insert("t", {"who": "later"}))
    await run_transaction(second, lambda tx: tx.insert("t", {"who": "second"}))
    docs = await second.begin().query(scan("t")).collect()
    assert [d["who"] for d in docs] == ["first", "second"]
