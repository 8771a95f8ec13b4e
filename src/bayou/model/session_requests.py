"""Mutation idempotency for sync sessions (`_session_requests`).

A mutation sent over a WebSocket runs exactly once per (session id, request id): its result
is stored in the mutation's own transaction, and a client that resends the mutation after
a reconnect gets the stored result and the original commit timestamp back (the stored
document's revision timestamp *is* that commit's timestamp).
"""

from __future__ import annotations

from dataclasses import dataclass

from bayou.database.catalog import SystemTable
from bayou.database.transaction import Transaction

SESSION_REQUESTS = SystemTable("_session_requests", 23, {"by_session": ("sessionId", "requestId")})


@dataclass(frozen=True, slots=True)
class StoredResult:
    value_json: str
    ts: int


def _query(session_id: str, request_id: int) -> dict:
    return {
        "source": {
            "type": "IndexRange",
            "indexName": f"{SESSION_REQUESTS.name}.by_session",
            "range": [
                {"type": "Eq", "fieldPath": "sessionId", "value": session_id},
                {"type": "Eq", "fieldPath": "requestId", "value": float(request_id)},
            ],
            "order": "asc",
        },
        "operators": [{"limit": 1}],
    }


async def lookup(tx: Transaction, session_id: str, request_id: int) -> StoredResult | None:
    stream = tx.query(_query(session_id, request_id), system=True)
    item = await stream.next_with_key()
    if item is None:
        return None
    doc = item[1]
    return StoredResult(doc.value["value"], doc.ts or tx.begin_ts)


async def store(tx: Transaction, session_id: str, request_id: int, value_json: str) -> None:
    await tx.insert(
        SESSION_REQUESTS.name,
        {"sessionId": session_id, "requestId": float(request_id), "value": value_json},
        system=True,
    )


RETENTION_MS = 24 * 3600 * 1000  # a client resends unanswered mutations within seconds


async def delete_older_than(tx: Transaction, cutoff_ms: float, limit: int = 500) -> int:
    """Delete up to `limit` stored results written before `cutoff_ms`; returns how many."""
    query = {
        "source": {
            "type": "IndexRange",
            "indexName": f"{SESSION_REQUESTS.name}.by_creation_time",
            "range": [{"type": "Lt", "fieldPath": "_creationTime", "value": cutoff_ms}],
            "order": "asc",
        },
        "operators": [{"limit": limit}],
    }
    old = await tx.query(query, system=True).collect()
    for doc in old:
        await tx.delete(doc["_id"], system=True)
    return len(old)
