"""The Python search API produces the JSON of the npm package's builders."""

from __future__ import annotations

import pytest

from bayou.runtimes.python.api.query import SearchFilter, VectorFilter, serialize_expression


def test_vector_filter_serializes_like_the_npm_builder() -> None:
    q = VectorFilter()
    expr = q.or_(q.eq("kind", "a"), q.eq("kind", 1))
    assert serialize_expression(expr) == {
        "$or": [
            {"$eq": [{"$field": "kind"}, {"$literal": "a"}]},
            {"$eq": [{"$field": "kind"}, {"$literal": 1.0}]},
        ]
    }
    with pytest.raises(TypeError, match="field name"):
        q.eq(1, "a")  # type: ignore[arg-type]


def test_search_filter_serializes_like_the_npm_builder() -> None:
    built = SearchFilter().search("body", "hello wor").eq("channel", "a")
    assert built.export() == [
        {"type": "Search", "fieldPath": "body", "value": "hello wor"},
        {"type": "Eq", "fieldPath": "channel", "value": "a"},
    ]
