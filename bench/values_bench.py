"""Micro-benchmark of bayou.values on a typical 10-field document: prints µs per operation.

.venv/bin/python bench/values_bench.py
"""

from __future__ import annotations

import timeit

from bayou.values import Int64, check_document, dumps, from_json, loads, sort_key, to_json
from bayou.values.ids import encode_id, new_internal_id

DOCUMENT = {
    "_id": encode_id(10001, new_internal_id()),
    "_creationTime": 1745075425708.771,
    "author": "Ada Lovelace",
    "body": "The Analytical Engine weaves algebraic patterns just as the Jacquard loom weaves flowers.",
    "channel": encode_id(10002, new_internal_id()),
    "likes": 42.0,
    "pinned": False,
    "score": 0.875,
    "tags": ["math", "history", "engines"],
    "version": Int64(3),
}


def _measure(label: str, fn, number: int = 20_000) -> None:
    best = min(timeit.repeat(fn, number=number, repeat=5)) / number
    print(f"{label:<28} {best * 1e6:8.2f} µs/op")


def main() -> None:
    encoded = to_json(DOCUMENT)
    text = dumps(DOCUMENT)
    print(f"document: {len(DOCUMENT)} fields, {len(text)} bytes of JSON")
    _measure("to_json", lambda: to_json(DOCUMENT))
    _measure("from_json", lambda: from_json(encoded))
    _measure("dumps", lambda: dumps(DOCUMENT))
    _measure("loads", lambda: loads(text))
    _measure("sort_key.encode (string)", lambda: sort_key.encode(DOCUMENT["author"]))
    _measure("sort_key.encode (float)", lambda: sort_key.encode(DOCUMENT["_creationTime"]))
    _measure(
        "sort_key.encode_values (3)",
        lambda: sort_key.encode_values(
            [DOCUMENT["channel"], DOCUMENT["_creationTime"], DOCUMENT["_id"]]
        ),
    )
    _measure("sort_key.encode (document)", lambda: sort_key.encode(DOCUMENT))
    _measure("check_document", lambda: check_document(DOCUMENT))


if __name__ == "__main__":
    main()
