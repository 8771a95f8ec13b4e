"""Pagination: `paginate({numItems, cursor, endCursor?, maximumRowsRead?, maximumBytesRead?})`.

Cursors are opaque strings that hold a position — after an index key, or the end — and
the fingerprint of the query they belong to, signed with a key derived from the instance
secret so that a client can neither forge a position nor reuse a cursor on another query
(db-semantics.md §3.6). Format: urlsafe base64 of `version ‖ kind ‖ fingerprint ‖ key ‖ mac`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from bayou.database.query import QueryPlan
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest

MAX_PAGE_ITEMS = 32_000
SPLIT_RECOMMENDED_ITEMS = 6_144
_VERSION = 1
_AFTER, _END = 0, 1
_MAC_LEN = 16


class InvalidCursor(BadRequest):
    """A cursor that is malformed, forged, or from another query (the client restarts)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="InvalidCursor")
        # What `usePaginatedQuery` looks for to restart pagination.
        self.data = {"isConvexSystemError": True, "paginationError": "InvalidCursor"}


@dataclass(frozen=True, slots=True)
class Position:
    """After index key `key`, or the end of the range (`key is None`)."""

    key: bytes | None


def encode_cursor(secret: bytes, fingerprint: bytes, position: Position) -> str:
    kind = _END if position.key is None else _AFTER
    payload = bytes([_VERSION, kind]) + fingerprint + (position.key or b"")
    mac = hmac.new(secret, payload, hashlib.sha256).digest()[:_MAC_LEN]
    return base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode()


def decode_cursor(secret: bytes, fingerprint: bytes, cursor: str) -> Position:
    if not isinstance(cursor, str):
        raise InvalidCursor("A pagination cursor must be a string or null")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor("Invalid pagination cursor: not one this deployment issued") from None
    head = 2 + len(fingerprint)
    if len(raw) < head + _MAC_LEN or raw[0] != _VERSION:
        raise InvalidCursor("Invalid pagination cursor: not one this deployment issued")
    payload, mac = raw[:-_MAC_LEN], raw[-_MAC_LEN:]
    expected = hmac.new(secret, payload, hashlib.sha256).digest()[:_MAC_LEN]
    if not hmac.compare_digest(mac, expected):
        raise InvalidCursor(
            "Invalid pagination cursor: it was issued by another deployment or under another "
            "instance secret. Restart pagination from the beginning (cursor: null)."
        )
    if payload[2:head] != fingerprint:
        raise InvalidCursor(
            "InvalidCursor: this cursor belongs to a different query. Pass the cursor back to "
            "the same query (same table, index, range, order and filters) that returned it."
        )
    return Position(None if payload[1] == _END else payload[head:])


@dataclass(frozen=True, slots=True)
class PaginationOptions:
    num_items: int
    cursor: str | None
    end_cursor: str | None = None
    maximum_rows_read: int | None = None
    maximum_bytes_read: int | None = None

    @classmethod
    def from_json(cls, opts: Any) -> PaginationOptions:
        if not isinstance(opts, dict):
            raise BadRequest("paginationOpts must be an object", code="InvalidPaginationOptions")
        num = _positive_int(opts.get("numItems"), "numItems", allow_zero=True)
        if num > MAX_PAGE_ITEMS:
            raise BadRequest(
                f"numItems is {num}; a page can hold at most {MAX_PAGE_ITEMS} items",
                code="PageSizeTooLarge",
            )
        cursor = opts.get("cursor")
        end = opts.get("endCursor")
        rows = opts.get("maximumRowsRead")
        nbytes = opts.get("maximumBytesRead")
        return cls(
            num,
            cursor,
            end,
            None if rows is None else _positive_int(rows, "maximumRowsRead"),
            None if nbytes is None else _positive_int(nbytes, "maximumBytesRead"),
        )


def _positive_int(value: Any, name: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < (0 if allow_zero else 1):
        raise BadRequest(
            f"{name} must be a {'non-negative' if allow_zero else 'positive'} integer, got {value!r}",
            code="InvalidPaginationOptions",
        )
    return value


async def paginate(
    tx: Transaction, query: Any, opts: PaginationOptions, *, system: bool = False
) -> dict[str, Any]:
    """Run one page of `query` (of a system table with `system`); returns Convex's
    `PaginationResult` shape (values decoded)."""
    plan = query if isinstance(query, QueryPlan) else QueryPlan.from_json(query)
    secret, fp = tx.db.cursor_key, plan.fingerprint
    start = None if opts.cursor is None else decode_cursor(secret, fp, opts.cursor)
    end = None if opts.end_cursor is None else decode_cursor(secret, fp, opts.end_cursor)
    if start is not None and start.key is None:
        return {"page": [], "isDone": True, "continueCursor": encode_cursor(secret, fp, start)}
    stream = tx.query(plan, system=system)
    stream.start(after=None if start is None else start.key, until=None if end is None else end.key)
    page: list[dict[str, Any]] = []
    keys: list[bytes] = []
    status: str | None = None
    limits = tx.limits
    while True:
        if end is None and len(page) >= opts.num_items:
            break
        if opts.maximum_rows_read is not None and stream.rows_read >= opts.maximum_rows_read:
            status = "SplitRequired"
            break
        if opts.maximum_bytes_read is not None and stream.bytes_read >= opts.maximum_bytes_read:
            status = "SplitRequired"
            break
        if (
            tx.reads.documents_read >= limits.documents_read
            or tx.reads.bytes_read >= limits.bytes_read
        ):
            status = "SplitRequired"
            break
        item = await stream.next_with_key()
        if item is None:
            break
        keys.append(item[0])
        page.append(item[1].value)
    stream.record_reads()
    if stream.exhausted:
        continue_pos = Position(None) if end is None else end
    elif end is not None and status is None:
        continue_pos = end
    else:
        last = stream.last_key
        continue_pos = Position(last) if last is not None else (start or Position(b""))
    result: dict[str, Any] = {
        "page": page,
        "isDone": continue_pos.key is None,
        "continueCursor": encode_cursor(secret, fp, continue_pos),
    }
    if status is None and (
        len(page) > SPLIT_RECOMMENDED_ITEMS
        or tx.reads.documents_read > limits.documents_read * 3 // 4
        or tx.reads.bytes_read > limits.bytes_read * 3 // 4
    ):
        status = "SplitRecommended"
    if status is not None:
        result["pageStatus"] = status
        if len(keys) >= 2:
            result["splitCursor"] = encode_cursor(secret, fp, Position(keys[len(keys) // 2 - 1]))
    return result
