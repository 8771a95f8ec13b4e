"""The PostgreSQL schema and every statement `PostgresPersistence` runs.

Index keys are arbitrary-length sort-key bytes, but a btree entry must stay under ~2.7 KB,
so a key is stored split: `key_prefix` (its first `KEY_PREFIX_LEN` bytes) and `key_suffix`
(the rest, empty for most keys). `(key_prefix, key_suffix)` in row order sorts exactly like
the whole key (bytea compares as memcmp, then length), so range bounds and ORDER BY use
that pair. The btree holds `(index_id, key_prefix, key_sha256, ts)`: `key_sha256` is empty
for keys that fit the prefix and the SHA-256 of the whole key otherwise, which keeps the
primary key unique without putting the suffix in the btree.

Reads are single statements (one round trip each): the newest entry per key at a snapshot
is the one with no newer entry at or below the snapshot (an anti-join probe on the same
btree), and the document revision an index hit points at is joined in with LATERAL.
"""

from __future__ import annotations

#: Bytes of an index key kept in the btree; longer keys spill into `key_suffix`.
KEY_PREFIX_LEN = 2500

#: The SQLSTATE `bayou_hold_lease` raises when another process holds the writer lease.
LEASE_LOST_SQLSTATE = "BY001"

#: Schema version of the tables below, kept in `bayou_schema`.
SCHEMA_VERSION = 1

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS documents (
    table_id BYTEA NOT NULL,
    id BYTEA NOT NULL,
    ts BIGINT NOT NULL,
    json_value BYTEA,
    prev_ts BIGINT,
    PRIMARY KEY (table_id, id, ts)
);
CREATE INDEX IF NOT EXISTS documents_by_ts ON documents (ts);
CREATE TABLE IF NOT EXISTS indexes (
    index_id BYTEA NOT NULL,
    key_prefix BYTEA NOT NULL,
    key_sha256 BYTEA NOT NULL,
    key_suffix BYTEA NOT NULL,
    ts BIGINT NOT NULL,
    table_id BYTEA NOT NULL,
    document_id BYTEA,
    PRIMARY KEY (index_id, key_prefix, key_sha256, ts)
);
CREATE TABLE IF NOT EXISTS persistence_globals (
    key TEXT PRIMARY KEY,
    json_value BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    id INTEGER PRIMARY KEY,
    holder BYTEA NOT NULL,
    holder_info TEXT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS bayou_schema (
    version INTEGER NOT NULL
);
CREATE OR REPLACE FUNCTION bayou_hold_lease(token BYTEA) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    info TEXT;
BEGIN
    -- FOR SHARE: a takeover (UPDATE of this row) waits for this transaction to end,
    -- and once it has happened this check fails, so a deposed writer can never commit.
    PERFORM 1 FROM leases WHERE id = 1 AND holder = token FOR SHARE;
    IF NOT FOUND THEN
        SELECT holder_info || ' at ' || acquired_at::text INTO info FROM leases WHERE id = 1;
        RAISE EXCEPTION 'bayou: this process no longer holds the writer lease'
            USING ERRCODE = '{LEASE_LOST_SQLSTATE}', DETAIL = coalesce(info, 'nobody');
    END IF;
END
$$;
"""

#: Serializes concurrent schema set-up (CREATE ... IF NOT EXISTS races otherwise).
SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(7308049531467264627)"

#: Columns that only a Convex backend's tables have: its data cannot be used in place.
FOREIGN_LAYOUT = """
SELECT 1 FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = 'documents' AND column_name = 'deleted'
"""

SCHEMA_VERSION_GET = "SELECT max(version) FROM bayou_schema"
SCHEMA_VERSION_SET = "INSERT INTO bayou_schema (version) VALUES (%b)"

#: The key of the session-level advisory lock the writer connection holds while its
#: process lives: PostgreSQL releases it when the session ends, however the process ended.
#: (Advisory locks are per database, so one key serves every instance.)
ALIVE_LOCK_KEY = 7308049531467264628
ALIVE_LOCK_TRY = f"SELECT pg_try_advisory_lock({ALIVE_LOCK_KEY})"
#: The server process (backend pid) of the session holding the lock, if any.
ALIVE_LOCK_HOLDER = f"""
SELECT pid FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1
  AND classid = {ALIVE_LOCK_KEY >> 32} AND objid = {ALIVE_LOCK_KEY & 0xFFFFFFFF}
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""

LEASE_CURRENT = "SELECT holder, holder_info, acquired_at FROM leases WHERE id = 1 FOR UPDATE"
LEASE_INFO = "SELECT holder_info, acquired_at FROM leases WHERE id = 1"
LEASE_TAKE = """
INSERT INTO leases (id, holder, holder_info, acquired_at) VALUES (1, %b, %b, now())
ON CONFLICT (id) DO UPDATE
SET holder = EXCLUDED.holder, holder_info = EXCLUDED.holder_info, acquired_at = now()
"""
LEASE_RELEASE = "DELETE FROM leases WHERE id = 1 AND holder = %b"

# A write is one statement, so one round trip and its own transaction: the lease check
# and the three upserts (of possibly empty arrays) succeed or fail together. The lease
# check runs whatever the order the CTEs run in, because the outer query reads it.
WRITE = """
WITH lease AS MATERIALIZED (SELECT bayou_hold_lease(%b)),
new_documents AS (
    INSERT INTO documents (table_id, id, ts, json_value, prev_ts)
    SELECT * FROM unnest(%b::bytea[], %b::bytea[], %b::bigint[], %b::bytea[], %b::bigint[])
    ON CONFLICT (table_id, id, ts) DO UPDATE
    SET json_value = EXCLUDED.json_value, prev_ts = EXCLUDED.prev_ts
    WHERE documents.json_value IS DISTINCT FROM EXCLUDED.json_value
       OR documents.prev_ts IS DISTINCT FROM EXCLUDED.prev_ts
),
new_indexes AS (
    INSERT INTO indexes (index_id, key_prefix, key_sha256, key_suffix, ts, table_id, document_id)
    SELECT * FROM unnest(
        %b::bytea[], %b::bytea[], %b::bytea[], %b::bytea[], %b::bigint[], %b::bytea[], %b::bytea[]
    )
    ON CONFLICT (index_id, key_prefix, key_sha256, ts) DO UPDATE
    SET key_suffix = EXCLUDED.key_suffix, table_id = EXCLUDED.table_id,
        document_id = EXCLUDED.document_id
    WHERE indexes.table_id IS DISTINCT FROM EXCLUDED.table_id
       OR indexes.document_id IS DISTINCT FROM EXCLUDED.document_id
),
new_globals AS (
    INSERT INTO persistence_globals (key, json_value)
    SELECT * FROM unnest(%b::text[], %b::bytea[])
    ON CONFLICT (key) DO UPDATE SET json_value = EXCLUDED.json_value
)
SELECT * FROM lease
"""

DELETE_INDEX = """
WITH lease AS MATERIALIZED (SELECT bayou_hold_lease(%b)),
deleted AS (DELETE FROM indexes WHERE index_id = %b)
SELECT * FROM lease
"""

MAX_TS = "SELECT max(ts) FROM documents"

LOAD_GLOBALS = "SELECT key, json_value FROM persistence_globals"

GET_DOCUMENT = """
SELECT ts, json_value, prev_ts FROM documents
WHERE table_id = %b AND id = %b AND ts <= %b ORDER BY ts DESC LIMIT 1
"""

GET_DOCUMENTS = """
SELECT k.table_id, k.id, d.ts, d.json_value, d.prev_ts
FROM unnest(%b::bytea[], %b::bytea[]) AS k (table_id, id)
CROSS JOIN LATERAL (
    SELECT ts, json_value, prev_ts FROM documents
    WHERE table_id = k.table_id AND id = k.id AND ts <= %b ORDER BY ts DESC LIMIT 1
) AS d
"""


def _index_scan(order: str, bounded: bool) -> str:
    """The index range scan; parameters are named (see `PostgresPersistence.index_scan`)."""
    upper = (
        "AND i.key_prefix <= %(end_prefix)b"
        " AND (i.key_prefix, i.key_suffix) < (%(end_prefix)b, %(end_suffix)b)"
        if bounded
        else ""
    )
    # The inner query picks the live keys (newest entry at the snapshot, not a tombstone)
    # in key order, the outer one joins each to its document's newest revision: documents
    # are fetched only for the rows that survive the LIMIT.
    return f"""
SELECT i.key_prefix, i.key_suffix, i.table_id, i.document_id, d.ts, d.json_value, d.prev_ts
FROM (
    SELECT i.key_prefix, i.key_suffix, i.table_id, i.document_id FROM indexes AS i
    WHERE i.index_id = %(index_id)b
      AND i.key_prefix >= %(start_prefix)b
      AND (i.key_prefix, i.key_suffix) >= (%(start_prefix)b, %(start_suffix)b)
      {upper}
      AND i.ts <= %(ts)b AND i.document_id IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM indexes AS n
          WHERE n.index_id = i.index_id AND n.key_prefix = i.key_prefix
            AND n.key_sha256 = i.key_sha256 AND n.ts > i.ts AND n.ts <= %(ts)b
      )
    ORDER BY i.key_prefix {order}, i.key_suffix {order}
    LIMIT %(limit)b
) AS i
LEFT JOIN LATERAL (
    SELECT ts, json_value, prev_ts FROM documents AS d
    WHERE d.table_id = i.table_id AND d.id = i.document_id AND d.ts <= %(ts)b
    ORDER BY d.ts DESC LIMIT 1
) AS d ON true
ORDER BY i.key_prefix {order}, i.key_suffix {order}
"""


def _index_keys(order: str, bounded: bool) -> str:
    """The live keys of an index range at a snapshot, in `order`, without documents."""
    upper = (
        "AND i.key_prefix <= %(end_prefix)b"
        " AND (i.key_prefix, i.key_suffix) < (%(end_prefix)b, %(end_suffix)b)"
        if bounded
        else ""
    )
    return f"""
SELECT i.key_prefix, i.key_suffix, i.document_id FROM indexes AS i
WHERE i.index_id = %(index_id)b
  AND i.key_prefix >= %(start_prefix)b
  AND (i.key_prefix, i.key_suffix) >= (%(start_prefix)b, %(start_suffix)b)
  {upper}
  AND i.ts <= %(ts)b AND i.document_id IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM indexes AS n
      WHERE n.index_id = i.index_id AND n.key_prefix = i.key_prefix
        AND n.key_sha256 = i.key_sha256 AND n.ts > i.ts AND n.ts <= %(ts)b
  )
ORDER BY i.key_prefix {order}, i.key_suffix {order}
LIMIT %(limit)b
"""


INDEX_KEYS = {
    (order, bounded): _index_keys(order.upper(), bounded)
    for order in ("asc", "desc")
    for bounded in (True, False)
}

INDEX_SCAN = {
    (order, bounded): _index_scan(order.upper(), bounded)
    for order in ("asc", "desc")
    for bounded in (True, False)
}

SCAN_TABLE = """
SELECT d.id, d.ts, d.json_value, d.prev_ts FROM documents AS d
WHERE d.table_id = %(table_id)b AND d.id > %(after)b AND d.ts <= %(ts)b
  AND d.json_value IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM documents AS n
      WHERE n.table_id = d.table_id AND n.id = d.id AND n.ts > d.ts AND n.ts <= %(ts)b
  )
ORDER BY d.id LIMIT %(limit)b
"""
