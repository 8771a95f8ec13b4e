"""One server per PostgreSQL database: a second is refused while the first lives; once the
first's database session is gone, a new one takes over and the first stops committing."""

from __future__ import annotations

import psycopg
import pytest

from bayou.database.retry import run_transaction
from bayou.errors import BayouError
from tests.conftest import POSTGRES_URL

from .queries import scan


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
async def test_a_deposed_database_refuses_to_commit_and_reports_it(open_db) -> None:
    first = await open_db()
    await run_transaction(first, lambda tx: tx.insert("t", {"who": "first"}))
    with pytest.raises(BayouError) as refused:
        await open_db()  # the first one lives: refused, naming it
    assert refused.value.code == "DatabaseInUse"
    # The first one's session ends (as when its process dies): a new server may take over.
    with psycopg.connect(POSTGRES_URL + "/postgres", autocommit=True) as c:
        c.execute("SELECT pg_terminate_backend(%s)", (first.persistence._writer.info.backend_pid,))
    second = await open_db()
    with pytest.raises(BayouError) as e:
        await run_transaction(first, lambda tx: tx.insert("t", {"who": "late"}))
    assert e.value.code == "LeaseLost"
    assert first.fatal_event.is_set() and first.fatal is not None
    with pytest.raises(BayouError):  # and stays refused
        await run_transaction(first, lambda tx: tx.insert("t", {"who": "later"}))
    await run_transaction(second, lambda tx: tx.insert("t", {"who": "second"}))
    docs = await second.begin().query(scan("t")).collect()
    assert [d["who"] for d in docs] == ["first", "second"]
