"""Posting keys: how a search index lives in the ordinary versioned index table.

A document with terms T in its search field and filter values v_1..v_k holds, in its
search index, one key per distinct term t — `encode(0, t) ‖ id ‖ stats` — and one per
filter field i and term — `encode(i, v_i, t) ‖ id ‖ stats` (sort-key encodings, `id` the
16-byte internal id, `stats` the term's frequency, the field's length in terms and the
document's creation time: what ranking needs, so only returned documents are fetched). Keys are written and tombstoned by the committer like any index key, so
a search reads the postings of its terms at its snapshot (MVCC), on SQLite and
PostgreSQL alike; the key ranges it read form its read set, and the write log carries
the keys of every written document, so a commit conflicts with (or invalidates) a
search exactly when it adds, changes or removes a document holding one of its terms
(and, with an equality filter, that filter value).
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bayou.database.catalog import IndexInfo
from bayou.database.index_key import field_value
from bayou.database.search.tokens import tokenize
from bayou.persistence.base import IndexEntry
from bayou.values import sort_key

_PAYLOAD = struct.Struct(">IId")  # term frequency, document length, creation time
_MAX_U32 = 2**32 - 1
_STRING_TAG = b"\x10"  # sort_key's tag of a string: a term prefix is tag ‖ utf-8 bytes


def document_terms(index: IndexInfo, doc: dict[str, Any]) -> list[str]:
    """The terms of `doc`'s search field (none when it is missing or not a string)."""
    text = field_value(doc, index.fields[0])
    return tokenize(text) if isinstance(text, str) else []


def posting_keys(index: IndexInfo, internal_id: bytes, doc: dict[str, Any]) -> set[bytes]:
    """Every key `doc` holds in the search index `index`.

    After the id, each key carries what ranking needs — the term's frequency in the
    document, the document's length in terms and its creation time — so a search ranks
    from keys alone and fetches only the documents it returns.
    """
    terms = document_terms(index, doc)
    if not terms:
        return set()
    counts = Counter(terms)
    created = float(doc["_creationTime"])
    heads = [sort_key.encode(0.0)]
    for i, path in enumerate(index.fields[1:], start=1):
        heads.append(sort_key.encode(float(i)) + sort_key.encode(field_value(doc, path)))
    tails = {
        sort_key.encode(t) + internal_id + _PAYLOAD.pack(min(n, _MAX_U32), len(terms), created)
        for t, n in counts.items()
    }
    return {head + tail for head in heads for tail in tails}


@dataclass(frozen=True, slots=True)
class Posting:
    """One decoded posting key."""

    term: str
    internal_id: bytes
    frequency: int
    length: int
    creation_time: float


def parse_posting(key: bytes, head_len: int) -> Posting:
    """Decode a posting key whose head is `head_len` bytes long."""
    end = key.index(b"\x00", head_len + 1)  # terms are alphanumeric: no escaped NULs
    term = key[head_len + 1 : end].decode("utf-8")
    internal_id = key[end + 1 : end + 17]
    frequency, length, created = _PAYLOAD.unpack_from(key, end + 17)
    return Posting(term, internal_id, frequency, length, created)


def head(filter_position: int = 0, value: Any = None) -> bytes:
    """The key prefix of postings without a filter (0) or for filter field i = value."""
    if filter_position == 0:
        return sort_key.encode(0.0)
    return sort_key.encode(float(filter_position)) + sort_key.encode(value)


def term_range(head_key: bytes, term: str, *, prefix: bool) -> tuple[bytes, bytes | None]:
    """The key interval of the postings of `term` (of every term starting with it)."""
    start = head_key + (_STRING_TAG + term.encode("utf-8") if prefix else sort_key.encode(term))
    return start, sort_key.prefix_successor(start)


def key_changes(
    index: IndexInfo, internal_id: bytes, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> tuple[set[bytes], set[bytes]]:
    """(old keys, new keys) of one write; vector indexes hold no keys."""
    if index.kind != "search":
        return set(), set()
    before = posting_keys(index, internal_id, old) if old is not None else set()
    after = posting_keys(index, internal_id, new) if new is not None else set()
    return before, after


def commit_postings(
    index: IndexInfo, table_id: bytes, write: Any, ts: int
) -> tuple[list[tuple[bytes, bytes]], list[IndexEntry]]:
    """Write-log keys and index entries of one committed write in a search index.

    Every key the old version held goes into the log (a reader of it saw that version),
    plus the new ones; entries are written only for keys that appear or disappear.
    """
    if index.kind == "vector":
        # No entries: the vector cache reloads the documents these log keys name.
        return [(index.id, write.internal_id)], []
    old = write.old.value if write.old is not None else None
    new = write.new.value if write.new is not None else None
    before, after = key_changes(index, write.internal_id, old, new)
    log = [(index.id, k) for k in before]
    log.extend((index.id, k) for k in after - before)
    entries = [IndexEntry(index.id, k, ts, table_id, None) for k in before - after]
    entries.extend(IndexEntry(index.id, k, ts, table_id, write.internal_id) for k in after - before)
    return log, entries
