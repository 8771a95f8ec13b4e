"""Numbers keep their type across every boundary between Python functions (a property
test over generated values): `run_query`, `run_mutation`, `run_action` (from actions and
mutations) and HTTP actions keep an `int` an `int` and a `float` a `float`; the scheduler
stores arguments as documents, so it delivers an `int` as a `float` (documented)."""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayou import Int64, api
from bayou.testing import ConvexTest
from bayou.values import json as vjson
from tests.testing.app.convex.typesig import sig

SAFE = 2**53
names = st.text(string.ascii_letters, min_size=1, max_size=6)
floats = st.floats(allow_nan=False, allow_infinity=False)
json_scalars = st.none() | st.booleans() | st.integers(-SAFE, SAFE) | floats | st.text(max_size=5)
scalars = json_scalars | st.integers(-(2**63), 2**63 - 1).map(Int64) | st.binary(max_size=5)


def tree(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
        max_leaves=8,
    )


def as_document(signature: Any) -> Any:
    """What the scheduler promises: numbers as the database stores them."""
    if signature == "int":
        return "float"
    if isinstance(signature, list):
        return [as_document(s) for s in signature]
    if isinstance(signature, dict):
        return {k: as_document(s) for k, s in signature.items()}
    return signature


def text_of(value: Any) -> str:
    """Convex JSON text in which an int is written as a JSON integer (kept by `ints=True`)."""
    return vjson.dumps(value).decode()


SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(value=tree(scalars))
def test_actions_keep_number_types_through_nested_calls_and_the_scheduler(
    convex: ConvexTest, value: Any
) -> None:
    convex.backend.stubs.clear()
    seen = convex.action(api.numbers.through_action, {"text": text_of(value)})
    expected = sig(value)
    assert seen == {"sent": expected, "query": expected, "mutation": expected, "action": expected}
    convex.run_scheduled()
    received = [doc for doc in convex.table("received") if doc["via"] == "scheduler"][-1]
    assert received["types"] == as_document(expected)


@SETTINGS
@given(value=tree(scalars))
def test_mutations_keep_number_types_through_nested_calls(convex: ConvexTest, value: Any) -> None:
    seen = convex.mutation(api.numbers.through_mutation, {"text": text_of(value)})
    expected = sig(value)
    assert seen == {"sent": expected, "query": expected, "mutation": expected}


@SETTINGS
@given(value=tree(json_scalars))
def test_http_actions_keep_json_number_types(convex: ConvexTest, value: Any) -> None:
    response = convex.fetch("/roundtrip", method="POST", json={"value": value})
    answer = response.json()
    expected = sig(json.loads(json.dumps({"value": value})))
    assert answer["sent"] == expected and answer["query"] == expected
    assert sig(answer["value"]) == expected and answer["value"] == {"value": value}
