"""What only the PostgreSQL engine does: URL rules, its database, the lease, reconnects."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from bayou.errors import BadRequest, Conflict, InternalError
from bayou.persistence import DocumentRevision, IndexEntry
from bayou.persistence.postgres import PostgresPersistence, inspect_database
from bayou.persistence.postgres_connection import database_name, parse_postgres_url

T = b"T" * 16
IDX = b"I" * 16


def doc(n: int, ts: int, value: bytes | None = b"{}") -> DocumentRevision:
    return DocumentRevision(T, n.to_bytes(16, "big"), ts, value)


def admin(url: str, database: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(f"{url}/{database}", autocommit=True)


# -- the URL -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "part"),
    [
        ("postgresql://u:secret@db.example:5432/mydb", "/mydb"),
        ("postgres://u@db.example/mydb?sslmode=disable", "/mydb"),
        ("postgresql://u@db.example?dbname=other", "dbname=other"),
        ("host=db.example user=u dbname=other", "dbname=other"),
    ],
)
def test_a_url_that_names_a_database_is_refused_with_the_fix(url: str, part: str) -> None:
    with pytest.raises(BadRequest) as caught:
        PostgresPersistence(url, "convex-self-hosted")
    message = str(caught.value)
    assert "POSTGRES_URL must not name a database" in message
    assert "named after INSTANCE_NAME (here `convex_self_hosted`)" in message
    assert f"Remove `{part}` from the URL." in message
    assert "secret" not in message


def test_an_unparsable_url_is_refused() -> None:
    with pytest.raises(BadRequest, match="not a valid PostgreSQL URL"):
        PostgresPersistence("postgresql://u@h:5432?nosuchoption=1", "i")


def test_the_database_is_named_after_the_instance() -> None:
    assert database_name("convex-self-hosted") == "convex_self_hosted"
    store = PostgresPersistence("postgresql://u@db.example:6543/", "my-app-prod")
    assert store.database == "my_app_prod"
    assert store.description == "PostgreSQL database `my_app_prod` at db.example:6543"
    with pytest.raises(BadRequest, match="cannot name a PostgreSQL database"):
        database_name("x" * 64)


def test_ssl_is_required_unless_turned_off_or_set_in_the_url() -> None:
    required = parse_postgres_url("postgresql://u@h", "i").params
    assert required["sslmode"] == "require"
    assert required["target_session_attrs"] == "read-write"
    assert "sslmode" not in parse_postgres_url("postgresql://u@h", "i", require_ssl=False).params
    explicit = parse_postgres_url("postgresql://u@h?sslmode=verify-full", "i").params
    assert explicit["sslmode"] == "verify-full"


# -- connecting ----------------------------------------------------------------------------


async def test_open_creates_the_instance_database(postgres_url: str, pg_instance: str) -> None:
    store = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
    await store.open()
    await store.close()
    with admin(postgres_url) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (store.database,))
        assert row.fetchone() == (1,)


async def test_a_server_without_tls_is_explained(postgres_url: str, pg_instance: str) -> None:
    with admin(postgres_url) as conn:
        if conn.execute("SHOW ssl").fetchone() != ("off",):
            pytest.skip("the test server has TLS")
    with pytest.raises(InternalError) as caught:
        await PostgresPersistence(postgres_url, pg_instance).open()
    assert "set DO_NOT_REQUIRE_SSL=true if your server has no TLS" in str(caught.value)
    assert caught.value.code == "DatabaseUnavailable"


async def test_an_unreachable_server_is_named_with_host_and_port() -> None:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = PostgresPersistence(f"postgresql://postgres@127.0.0.1:{port}", "i", require_ssl=False)
    with pytest.raises(InternalError) as caught:
        await store.open()
    message = str(caught.value)
    assert f"Could not connect to PostgreSQL at 127.0.0.1:{port}" in message
    assert "Is the server running and reachable?" in message


async def test_an_unknown_role_is_named(postgres_url: str) -> None:
    url = postgres_url.replace("postgres@", "no_such_role_for_bayou@")
    with pytest.raises(InternalError, match="The role `no_such_role_for_bayou` does not exist"):
        await PostgresPersistence(url, "i", require_ssl=False).open()


@pytest.fixture
def role_without_createdb(postgres_url: str) -> Iterator[str]:
    role = f"bayou_nocreate_{secrets.token_hex(4)}"
    with admin(postgres_url) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB").format(sql.Identifier(role)))
    yield role
    with admin(postgres_url) as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


async def test_a_role_that_may_not_create_the_database_is_told_what_to_run(
    postgres_url: str, pg_instance: str, role_without_createdb: str
) -> None:
    url = postgres_url.replace("postgres@", f"{role_without_createdb}@")
    with pytest.raises(InternalError) as caught:
        await PostgresPersistence(url, pg_instance, require_ssl=False).open()
    db = database_name(pg_instance)
    assert f'CREATE DATABASE "{db}" OWNER "{role_without_createdb}";' in str(caught.value)


async def test_a_role_that_may_not_create_tables_is_told_what_to_run(
    postgres_url: str, pg_instance: str, role_without_createdb: str
) -> None:
    db = database_name(pg_instance)
    with admin(postgres_url) as conn:  # created by an administrator, owned by postgres
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    url = postgres_url.replace("postgres@", f"{role_without_createdb}@")
    with pytest.raises(InternalError) as caught:
        await PostgresPersistence(url, pg_instance, require_ssl=False).open()
    assert f'ALTER DATABASE "{db}" OWNER TO "{role_without_createdb}";' in str(caught.value)


async def test_a_convex_backend_database_is_not_used_in_place(
    postgres_url: str, pg_instance: str
) -> None:
    db = database_name(pg_instance)
    with admin(postgres_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    with admin(postgres_url, db) as conn:
        conn.execute("CREATE TABLE documents (id BYTEA, ts BIGINT, deleted BOOLEAN)")
    with pytest.raises(BadRequest, match="npx convex export"):
        await PostgresPersistence(postgres_url, pg_instance, require_ssl=False).open()


async def test_a_database_from_a_newer_bayou_is_refused(
    postgres_url: str, pg_instance: str
) -> None:
    store = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
    await store.open()
    await store.close()
    with admin(postgres_url, store.database) as conn:
        conn.execute("INSERT INTO bayou_schema (version) VALUES (999)")
    with pytest.raises(InternalError, match="written by a newer Bayou"):
        await store.open()


# -- keys ----------------------------------------------------------------------------------


async def test_keys_sort_bytewise_in_a_database_with_a_linguistic_collation(
    postgres_url: str, icu_instance: str
) -> None:
    with admin(postgres_url, database_name(icu_instance)) as conn:
        # The database really does collate text linguistically ('a' < 'B'; bytewise 'B' < 'a').
        assert conn.execute("SELECT 'a' < 'B', 'a'::bytea < 'B'::bytea").fetchone() == (True, False)
    keys = [b"B", b"a", b"b", b"A", b"\x00", b"\x7f", b"\x80", b"\xff", b"a\x00", b"", b"\xc3\xa9"]
    store = PostgresPersistence(postgres_url, icu_instance, require_ssl=False)
    await store.open()
    try:
        docs = [doc(i, 10) for i in range(len(keys))]
        entries = [IndexEntry(IDX, k, 10, T, d.id) for k, d in zip(keys, docs, strict=True)]
        await store.write(docs, entries)
        hits = await store.index_scan(IDX, b"", None, 10, "asc", 100)
        assert [h.key for h in hits] == sorted(keys)
        hits = await store.index_scan(IDX, b"A", b"b", 10, "desc", 100)
        assert [h.key for h in hits] == [b"a\x00", b"a", b"B", b"A"]
    finally:
        await store.close()


async def test_long_keys_are_stored_as_prefix_suffix_and_digest(
    postgres_url: str, pg_instance: str
) -> None:
    store = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
    await store.open()
    try:
        key = b"k" * 5000
        await store.write([doc(1, 10)], [IndexEntry(IDX, key, 10, T, doc(1, 10).id)])
        with admin(postgres_url, store.database) as conn:
            row = conn.execute(
                "SELECT length(key_prefix), length(key_suffix), length(key_sha256) FROM indexes"
            ).fetchone()
        assert row == (2500, 2500, 32)
        assert [h.key for h in await store.index_scan(IDX, key, None, 10, "asc", 1)] == [key]
    finally:
        await store.close()


# -- the single-writer lease ---------------------------------------------------------------


async def test_a_second_backend_is_refused_with_the_holder_named(
    postgres_url: str, pg_instance: str
) -> None:
    first = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
    second = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
    await first.open()
    try:
        await first.write([doc(1, 10)], [])
        with pytest.raises(Conflict) as caught:
            await second.open()
        message = str(caught.value)
        assert caught.value.code == "DatabaseInUse"
        assert "Another Bayou process is using the PostgreSQL database" in message
        assert f"(pid {os.getpid()} on host {socket.gethostname()}, since " in message
        assert f"`{first.database}`" in message and "Stop it first" in message
        assert "SELECT pg_terminate_backend(" in message  # the way out if the holder is gone
        await first.write([doc(2, 20)], [])  # the first one is unaffected
        assert await first.max_ts() == 20
    finally:
        await second.close()
        await first.close()
    third = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
    await third.open()  # free again once the holder closed
    await third.close()


async def test_a_backend_whose_session_ended_is_replaced_and_can_no_longer_write(
    postgres_url: str, pg_instance: str
) -> None:
    first = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
    second = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
    await first.open()
    try:
        await first.write([doc(1, 10)], [IndexEntry(IDX, b"a", 10, T, doc(1, 10).id)])
        assert first._writer is not None
        with admin(postgres_url) as conn:  # the first one's session ends (network, crash)
            conn.execute("SELECT pg_terminate_backend(%s)", (first._writer.info.backend_pid,))
        await second.open()
        with pytest.raises(Conflict) as caught:
            await first.write([doc(2, 20)], [IndexEntry(IDX, b"b", 20, T, doc(2, 20).id)], {"g": 1})
        assert caught.value.code == "LeaseLost"
        assert "took over the PostgreSQL database" in str(caught.value)
        assert "must stop" in str(caught.value)
        with pytest.raises(Conflict, match="took over"):
            await first.delete_index_entries(IDX)
        with pytest.raises(Conflict, match="took over"):  # and it stays deposed
            await first.write([doc(3, 30)], [])
        # Nothing of the refused writes exists; the first one may still read.
        for reader in (first, second):
            assert await reader.max_ts() == 10
            assert await reader.get_document(T, doc(2, 20).id, 99) is None
            assert [h.key for h in await reader.index_scan(IDX, b"", None, 99, "asc", 9)] == [b"a"]
            assert await reader.load_globals() == {}
        await first.close()  # must not release the lease it no longer holds
        await second.write([doc(2, 20)], [])
        assert await second.max_ts() == 20
    finally:
        await first.close()
        await second.close()


async def test_a_killed_holder_on_this_host_is_waited_for_not_refused(
    postgres_url: str, pg_instance: str
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_AND_WAIT, postgres_url, pg_instance],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        holder.kill()
        holder.wait()
        store = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
        await store.open()  # its session may still be closing: waited for, not refused
        await store.write([doc(1, 10)], [])
        await store.close()
    finally:
        holder.kill()
        holder.wait()


_HOLD_AND_WAIT = """
import asyncio, sys, time
from bayou.persistence.postgres import PostgresPersistence, inspect_database

async def main():
    store = PostgresPersistence(sys.argv[1], sys.argv[2], require_ssl=False)
    await store.open()
    print("open", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_close_releases_the_lease(postgres_url: str, pg_instance: str) -> None:
    store = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
    await store.open()
    with admin(postgres_url, store.database) as conn:
        assert conn.execute("SELECT count(*) FROM leases").fetchone() == (1,)
        await store.close()
        assert conn.execute("SELECT count(*) FROM leases").fetchone() == (0,)


async def test_reads_run_while_a_write_waits(postgres_url: str, pg_instance: str) -> None:
    store = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
    await store.open()
    try:
        await store.write([doc(1, 10)], [])
        with admin(postgres_url, store.database) as blocker:
            # Lock the lease row as a takeover would: the next write must wait for it.
            blocker.execute("BEGIN")
            blocker.execute("SELECT * FROM leases FOR UPDATE")
            pending = asyncio.create_task(store.write([doc(2, 20)], []))
            await _until_a_backend_waits_for_a_lock(postgres_url, store.database)
            assert await store.get_document(T, doc(1, 10).id, 99) == doc(1, 10)
            assert await store.get_document(T, doc(2, 20).id, 99) is None
            assert not pending.done()
            blocker.execute("ROLLBACK")
        await pending
        assert await store.get_document(T, doc(2, 20).id, 99) == doc(2, 20)
    finally:
        await store.close()


async def _until_a_backend_waits_for_a_lock(url: str, database: str) -> None:
    with admin(url) as conn:
        for _ in range(1000):
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                (database,),
            ).fetchone()
            if row and row[0]:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the write never waited for the lease row")


# -- reconnecting --------------------------------------------------------------------------


async def test_reads_and_writes_survive_killed_connections(
    postgres_url: str, pg_instance: str
) -> None:
    store = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
    await store.open()
    try:
        await store.write([doc(1, 10)], [])
        assert await store.get_document(T, doc(1, 10).id, 10) == doc(1, 10)
        with admin(postgres_url) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (store.database,),
            ).fetchone()
        assert killed is not None and killed[0] >= 2  # the writer and a reader
        await store.write([doc(2, 20)], [])
        assert await store.get_document(T, doc(2, 20).id, 20) == doc(2, 20)
        assert await store.max_ts() == 20
    finally:
        await store.close()


# -- inspecting (bayou doctor) ---------------------------------------------------------------


async def test_inspecting_a_database_changes_nothing(postgres_url: str, pg_instance: str) -> None:
    database = database_name(pg_instance)
    missing = await inspect_database(postgres_url, pg_instance, require_ssl=False)
    assert (
        missing
        == f"PostgreSQL database `{database}` at 127.0.0.1:5432: not created yet (`bayou serve` creates it)"
    )
    with admin(postgres_url) as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            is None
        )
    store = PostgresPersistence(postgres_url, pg_instance, require_ssl=False)
    await store.open()
    try:
        busy = await inspect_database(postgres_url, pg_instance, require_ssl=False)
        assert busy.endswith(f"(empty; in use by pid {os.getpid()} on host {socket.gethostname()})")
        await store.write([doc(1, 10)], [])
    finally:
        await store.close()
    idle = await inspect_database(postgres_url, pg_instance, require_ssl=False)
    assert idle.endswith("(holds data; no server is using it)")
