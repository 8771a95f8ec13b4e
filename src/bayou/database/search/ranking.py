"""Relevance: BM25 over the candidates of one search, newest first on ties.

Term statistics (document frequency, average length) come from the candidate set at the
query's snapshot, which keeps a search a pure function of its snapshot and read set (no
global counters outside MVCC). A term that only prefix-matches counts half an exact
occurrence, so "rabbit" outranks "rabbits" for the query "rabbit".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bayou.database.document import Doc
from bayou.database.search.tokens import QueryTerms
from bayou.values import sort_key

K1 = 1.2
B = 0.75
PREFIX_WEIGHT = 0.5


@dataclass(slots=True)
class Candidate:
    """A document matching a search: what ranking needs, and the document once fetched."""

    internal_id: bytes
    creation_time: float
    length: int  # terms in the search field
    counts: dict[str, int] = field(default_factory=dict)  # matching term → frequency
    doc: Doc | None = None


def rank(
    terms: QueryTerms, candidates: Sequence[Candidate], limit: int
) -> list[tuple[bytes, Candidate]]:
    """The best `limit` as (position key, candidate), best first; the key orders results
    and marks pagination cursors."""
    if not candidates:
        return []
    tfs = [_frequencies(terms, c.counts) for c in candidates]
    n = len(candidates)
    avgdl = sum(c.length for c in candidates) / n or 1.0
    width = len(tfs[0])
    df = [sum(1 for row in tfs if row[i] > 0) for i in range(width)]
    idf = [math.log(1 + (n - d + 0.5) / (d + 0.5)) for d in df]
    scored = []
    for c, row in zip(candidates, tfs, strict=True):
        norm = K1 * (1 - B + B * c.length / avgdl)
        score = sum(w * tf * (K1 + 1) / (tf + norm) for w, tf in zip(idf, row, strict=True) if tf)
        scored.append((-score, -c.creation_time, c.internal_id, c))
    scored.sort(key=lambda item: item[:3])
    return [
        (position_key(-neg_score, c.creation_time, c.internal_id), c)
        for neg_score, _, _, c in scored[:limit]
    ]


def position_key(score: float, creation_time: float, internal_id: bytes) -> bytes:
    """Ascending order = best score first, then newest, then by id."""
    return sort_key.encode(-float(score)) + sort_key.encode(-float(creation_time)) + internal_id


def _frequencies(terms: QueryTerms, counts: dict[str, int]) -> list[float]:
    row: list[float] = [float(counts.get(t, 0)) for t in terms.exact]
    prefix = terms.prefix
    if prefix is not None:
        tf = 0.0
        for t, c in counts.items():
            if t == prefix:
                tf += c
            elif t.startswith(prefix):
                tf += PREFIX_WEIGHT * c
        row.append(tf)
    return row
