"""Connecting to PostgreSQL: the POSTGRES_URL rules, the instance's database, clear errors.

The rules follow Convex's self-hosted backend, so a deployment can move between the two:
the URL names a server, never a database; the database is the instance name with `-`
replaced by `_`; `sslmode=require` and `target_session_attrs=read-write` are added unless
the URL says otherwise. Unlike Convex, a missing database is created when the role may.
Every failure becomes a `BayouError` whose message names the server and the likely fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg
from psycopg import conninfo, sql
from psycopg.types.numeric import Int8BinaryDumper

from bayou.errors import BadRequest, InternalError

#: Databases tried, in order, to create the instance's database from.
_MAINTENANCE_DATABASES = ("postgres", "template1")
_MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1


def database_name(instance_name: str) -> str:
    """The database an instance uses: its name with `-` replaced by `_` (Convex's rule)."""
    name = instance_name.replace("-", "_")
    if not name or len(name.encode()) > _MAX_IDENTIFIER_BYTES:
        raise BadRequest(
            f"INSTANCE_NAME `{instance_name}` cannot name a PostgreSQL database: it must have "
            f"1 to {_MAX_IDENTIFIER_BYTES} bytes.",
            code="InvalidInstanceName",
        )
    return name


@dataclass(frozen=True, slots=True)
class PostgresTarget:
    """Where to connect: libpq parameters for the instance's database, and how to say so."""

    params: dict[str, str]
    database: str
    require_ssl: bool

    @property
    def address(self) -> str:
        """`host:port` for messages (the password never appears)."""
        host = self.params.get("host") or self.params.get("hostaddr") or "the local socket"
        return f"{host}:{self.params.get('port') or 5432}"

    @property
    def user(self) -> str:
        return self.params.get("user") or "(your OS user)"

    def conninfo(self, database: str | None = None) -> str:
        """A libpq connection string for `database` (default: the instance's)."""
        return conninfo.make_conninfo("", **{**self.params, "dbname": database or self.database})


def parse_postgres_url(
    url: str, instance_name: str, *, require_ssl: bool = True, connect_timeout: float = 10.0
) -> PostgresTarget:
    """Check POSTGRES_URL and derive the connection parameters of the instance's database."""
    database = database_name(instance_name)
    try:
        params = {k: str(v) for k, v in conninfo.conninfo_to_dict(url).items()}
    except psycopg.ProgrammingError as exc:
        raise BadRequest(
            f"POSTGRES_URL is not a valid PostgreSQL URL ({error_summary(exc)}). Expected "
            "postgresql://user:password@host:5432",
            code="InvalidPostgresUrl",
        ) from None
    if params.get("dbname"):
        raise BadRequest(
            "POSTGRES_URL must not name a database: Bayou uses one database per instance, "
            f"named after INSTANCE_NAME (here `{database}`). "
            f"Remove `{_database_part(url, params['dbname'])}` from the URL.",
            code="InvalidPostgresUrl",
        )
    params.pop("dbname", None)
    if require_ssl:
        # An explicit sslmode in the URL is the operator's choice and wins.
        params.setdefault("sslmode", "require")
    params.setdefault("target_session_attrs", "read-write")
    params.setdefault("connect_timeout", str(max(1, round(connect_timeout))))
    params.setdefault("application_name", "bayou")
    return PostgresTarget(params=params, database=database, require_ssl=require_ssl)


def _database_part(url: str, dbname: str) -> str:
    if "://" in url:
        path = urlsplit(url).path
        if path.strip("/"):
            return path
        return f"dbname={dbname}"
    return f"dbname={dbname}"


async def connect(
    target: PostgresTarget, *, create_database: bool = True
) -> psycopg.AsyncConnection:
    """An autocommit connection to the instance's database, creating the database if needed."""
    try:
        return await connect_to(target.conninfo())
    except psycopg.OperationalError as exc:
        if not (create_database and is_missing_database(exc)):
            raise connection_error(target, exc) from None
    await _create_database(target)
    try:
        return await connect_to(target.conninfo())
    except psycopg.OperationalError as exc:
        raise connection_error(target, exc) from None


async def connect_to(info: str) -> psycopg.AsyncConnection:
    """One autocommit connection, integers sent as int8 (see below)."""
    conn = await psycopg.AsyncConnection.connect(info, autocommit=True, prepare_threshold=0)
    # Every integer is a nanosecond timestamp or a count: send them all as int8 so that
    # each statement keeps one set of parameter types (and one prepared plan).
    conn.adapters.register_dumper(int, Int8BinaryDumper)
    return conn


def is_missing_database(exc: psycopg.OperationalError) -> bool:
    """Whether a connection failed because the database does not exist."""
    # libpq reports connection-time errors as text: the SQLSTATE is often missing.
    return (
        exc.sqlstate == "3D000" or re.search(r'database ".*" does not exist', str(exc)) is not None
    )


async def _create_database(target: PostgresTarget) -> None:
    last: psycopg.OperationalError | None = None
    for maintenance in _MAINTENANCE_DATABASES:
        try:
            conn = await connect_to(target.conninfo(maintenance))
        except psycopg.OperationalError as exc:
            if is_missing_database(exc):
                last = exc
                continue
            raise connection_error(target, exc) from None
        async with conn:
            try:
                await conn.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.database))
                )
            except psycopg.errors.DuplicateDatabase:
                pass  # another process created it first
            except psycopg.errors.InsufficientPrivilege:
                raise InternalError(
                    f"The database `{target.database}` does not exist on {target.address} and "
                    f"the role `{target.user}` may not create it. Ask an administrator to run: "
                    f'CREATE DATABASE "{target.database}" OWNER "{target.user}";',
                    code="DatabaseUnavailable",
                ) from None
        return
    assert last is not None
    raise connection_error(target, last)


def connection_error(target: PostgresTarget, exc: BaseException) -> InternalError:
    """A connection failure as an error that names the server and the likely fix."""
    detail = error_summary(exc)
    text = str(exc).lower()
    if "password authentication failed" in text or "no password supplied" in text:
        fix = f"Check the user (`{target.user}`) and password in POSTGRES_URL."
    elif "role" in text and "does not exist" in text:
        fix = f"The role `{target.user}` does not exist: check the user in POSTGRES_URL."
    elif "pg_hba.conf" in text:
        fix = (
            "The server's pg_hba.conf allows no such connection from this host for this user "
            "and database: add an entry for it"
            + (" (or set DO_NOT_REQUIRE_SSL=true)." if target.require_ssl else ".")
        )
    elif "ssl" in text and target.require_ssl:
        fix = (
            "The server refused an encrypted connection: set DO_NOT_REQUIRE_SSL=true if your "
            "server has no TLS (or enable TLS on the server)."
        )
    elif "could not translate host name" in text or "name or service not known" in text:
        fix = "The host name does not resolve: check the host in POSTGRES_URL."
    elif "connection refused" in text or "timeout" in text or "no route" in text:
        fix = "Is the server running and reachable? Check the host and port in POSTGRES_URL."
    elif "read-only" in text or "read-write" in text:
        fix = "The server is a read-only standby: point POSTGRES_URL at the primary."
    else:
        fix = "Check POSTGRES_URL and that the server is running."
    return InternalError(
        f"Could not connect to PostgreSQL at {target.address} (database `{target.database}`, "
        f"user `{target.user}`). {fix} (details: {detail})",
        code="DatabaseUnavailable",
    )


def error_summary(exc: BaseException) -> str:
    """A driver error's message on one line."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return " ".join(lines) if lines else type(exc).__name__
