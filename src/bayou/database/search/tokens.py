"""Convex's text analysis: tantivy's `SimpleTokenizer`, long terms dropped, lowercased.

`SimpleTokenizer` splits on every character that is not alphanumeric (Unicode), so
punctuation and whitespace separate terms; terms of 32 bytes or more (UTF-8) are dropped
(`RemoveLongFilter`), the rest lowercased (`crates/search/src/constants.rs`). A query
keeps its first 16 terms; the last one matches as a prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TERM_BYTES = 32
MAX_QUERY_TERMS = 16
MAX_FILTER_CONDITIONS = 8
MAX_CANDIDATES = 1024
MAX_PREFIX_MATCHES = 16  # terms a prefix expands to: the first ones in term order

_TERM = re.compile(r"[^\W_]+")


def tokenize(text: str) -> list[str]:
    """The terms of `text`, in order, with repeats."""
    return [t.lower() for t in _TERM.findall(text) if len(t.encode("utf-8")) < MAX_TERM_BYTES]


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """A search string as terms: every term matches exactly except the last, a prefix."""

    exact: tuple[str, ...]
    prefix: str | None

    @classmethod
    def parse(cls, text: str) -> QueryTerms:
        terms = tokenize(text)[:MAX_QUERY_TERMS]
        if not terms:
            return cls((), None)
        return cls(tuple(dict.fromkeys(terms[:-1])), terms[-1])

    @property
    def empty(self) -> bool:
        return self.prefix is None
