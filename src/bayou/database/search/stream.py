"""Search streams: a text search inside a transaction, as a query stream.

On the first pull the stream reads the postings of every query term at the transaction's
snapshot (for the first equality filter's value, when there is one), overlays the
transaction's own writes, keeps the documents that pass every filter, ranks them and
serves at most 1,024 (Convex's candidate limit). Every posting range it read goes into
the read set, so serializability and reactivity follow from the ordinary machinery.
Operators (`filter`, `limit`) and pagination work as for index ranges; positions are
(score, creation time, id) keys.
"""

from __future__ import annotations

import itertools
from collections import Counter, deque
from typing import TYPE_CHECKING

from bayou.database.document import Doc
from bayou.database.query_stream import QueryStream
from bayou.database.search import postings
from bayou.database.search.ranking import Candidate, rank
from bayou.database.search.text_query import (
    CompiledSearch,
    compile_search,
    search_index_for_read,
)
from bayou.database.search.tokens import MAX_CANDIDATES, MAX_PREFIX_MATCHES
from bayou.errors import BadRequest, InternalError

if TYPE_CHECKING:
    from bayou.database.query import QueryPlan
    from bayou.database.transaction import Transaction

SCAN_PAGE = 1000
FETCH_BATCH = 32  # documents loaded per round trip as results are served


class SearchStream(QueryStream):
    """`QueryStream`'s interface over a search index."""

    def __init__(self, tx: Transaction, plan: QueryPlan) -> None:
        super().__init__(tx, plan)
        self._compiled: CompiledSearch | None = None
        self._results: deque[tuple[bytes, Candidate]] | None = None
        self._after: bytes | None = None
        self._until: bytes | None = None
        self._served = 0

    def start(self, *, after: bytes | None = None, until: bytes | None = None) -> None:
        self._started = True
        self._after, self._until = after, until
        tx = self.tx
        table = tx.table_for_read(self.plan.table)
        if table is None:
            self.done = self.exhausted = True
            return
        index = search_index_for_read(table, self.plan.index)
        self.table, self.index = table, index
        assert self.plan.search is not None
        self._compiled = compile_search(table, index, self.plan.search)
        tx._count_range()
        if any(n == 0 for n in self._limits):
            self.done = True

    async def _pull(self) -> tuple[bytes, Doc] | None:
        if self._results is None:
            self._results = deque(await self._search())
        if self._served == MAX_CANDIDATES:  # Convex fails the 1,025th fetch, match or not
            raise BadRequest(
                f"Search query scanned too many documents (fetched {MAX_CANDIDATES}). Consider "
                "using a smaller limit, paginating the query, or using a filter field to limit "
                "the number of documents pulled from the search index.",
                code="SearchQueryScannedTooManyDocumentsError",
            )
        if not self._results:
            self._mark_exhausted()
            return None
        key, candidate = self._results[0]
        if candidate.doc is None:
            batch = self._page if self._served == 0 else FETCH_BATCH  # take(n): n
            await self._fetch([c for _, c in itertools.islice(self._results, batch)])
        self._results.popleft()
        doc = candidate.doc
        assert doc is not None
        self._served += 1
        self._last_key = key
        assert self.table is not None
        self.rows_read += 1
        self.bytes_read += doc.size
        self.tx.count_read(self.table, doc)
        return key, doc

    async def _search(self) -> list[tuple[bytes, Candidate]]:
        tx, table, index, compiled = self.tx, self.table, self.index, self._compiled
        assert table is not None and index is not None and compiled is not None
        terms = compiled.terms
        if terms.empty:
            return []
        head = (
            postings.head(compiled.eqs[0][0], compiled.eqs[0][2])
            if compiled.eqs
            else postings.head()
        )
        ranges = [(*postings.term_range(head, t, prefix=False), False) for t in terms.exact]
        assert terms.prefix is not None
        ranges.append((*postings.term_range(head, terms.prefix, prefix=True), True))
        found: dict[bytes, Candidate] = {}
        written = tx.writes
        prefix_below: str | None = None
        await tx.settle()  # postings come straight from storage
        for start, end, is_prefix in ranges:
            lo, expanded = start, set()
            while lo is not None:
                keys = await tx.db.persistence.index_keys(index.id, lo, end, tx.begin_ts, SCAN_PAGE)
                lo = keys[-1][0] + b"\x00" if len(keys) == SCAN_PAGE else None
                for key, _ in keys:
                    p = postings.parse_posting(key, len(head))
                    if is_prefix and p.term not in expanded:
                        if len(expanded) == MAX_PREFIX_MATCHES:
                            # Convex expands a prefix to its first 16 terms: the read
                            # set ends where the 17th term's postings begin.
                            end, lo = postings.term_range(head, p.term, prefix=False)[0], None
                            prefix_below = p.term
                            break
                        expanded.add(p.term)
                    if (table.id, p.internal_id) in written:
                        continue  # judged by its new version below
                    c = found.get(p.internal_id)
                    if c is None:
                        c = found[p.internal_id] = Candidate(
                            p.internal_id, p.creation_time, p.length
                        )
                    c.counts[p.term] = p.frequency
            tx.reads.add(index.id, start, end)
        candidates = list(found.values())
        if len(compiled.eqs) > 1:  # postings hold the first filter; check the others
            await self._fetch(candidates)
            candidates = [c for c in candidates if compiled.matches_filters(c.doc.value)]  # type: ignore[union-attr]
        for (table_id, internal_id), w in written.items():
            if table_id != table.id or w.new is None:
                continue
            doc_terms = postings.document_terms(index, w.new.value)
            if compiled.matches_terms(doc_terms, prefix_below) and compiled.matches_filters(
                w.new.value
            ):
                counts = dict(Counter(doc_terms))
                candidates.append(
                    Candidate(
                        internal_id,
                        float(w.new.value["_creationTime"]),
                        len(doc_terms),
                        counts,
                        w.new,
                    )
                )
        ranked = rank(terms, candidates, MAX_CANDIDATES)
        after, until = self._after, self._until
        return [
            (k, c)
            for k, c in ranked
            if (after is None or k > after) and (until is None or k <= until)
        ]

    async def _fetch(self, candidates: list[Candidate]) -> None:
        """Load the documents of candidates that have none yet, at the snapshot."""
        table = self.table
        assert table is not None
        missing = [c for c in candidates if c.doc is None]
        if not missing:
            return
        await self.tx.settle()
        revisions = await self.tx.db.persistence.get_documents(
            [(table.id, c.internal_id) for c in missing], self.tx.begin_ts
        )
        for c in missing:
            revision = revisions.get((table.id, c.internal_id))
            if revision is None or revision.value is None:
                raise InternalError("A search posting points at a document that does not exist")
            c.doc = Doc.from_revision(table, revision)

    def record_reads(self) -> None:
        """The posting ranges are recorded whole when the search runs."""
