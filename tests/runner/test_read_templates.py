"""`ReadTemplates`: a mutation's first reads, predicted from its arguments."""

from __future__ import annotations

from typing import Any

import orjson

from bayou.runner.read_ahead import MAX_ARGS_BYTES, MAX_PREDICTED_READS, ReadTemplates, arguments_of

KEY = ("v1", "", "transfer.js:transfer")


def first_by_id(query_id: int, value: Any) -> tuple[str, Any]:
    """The syscall of `.withIndex("by_account_id", q => q.eq("id", value)).first()`."""
    query = {
        "source": {
            "type": "IndexRange",
            "indexName": "accounts.by_account_id",
            "range": [{"type": "Eq", "fieldPath": "id", "value": value}],
            "order": "asc",
        },
        "operators": [{"limit": 1}],
    }
    return (
        "bayou/queryStreamBatch",
        {"queryId": query_id, "query": query, "version": None, "max": 1},
    )


def transfer(from_id: Any, to_id: Any) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    args = {"amount": 1, "from_id": from_id, "to_id": to_id}
    return args, [first_by_id(1, from_id), first_by_id(2, to_id)]


def learned(*calls: tuple[dict[str, Any], list[tuple[str, Any]]]) -> ReadTemplates:
    templates = ReadTemplates()
    for args, reads in calls:
        templates.learn(KEY, args, reads, offered=0, used=0)
    return templates


def test_two_calls_teach_where_each_read_takes_its_arguments() -> None:
    templates = learned(transfer(5, 9))
    assert templates.predict(KEY, transfer(1, 2)[0]) == []  # one call says nothing yet
    templates = learned(transfer(5, 9), transfer(7, 3))
    args, reads = transfer(11, 2)
    assert templates.predict(KEY, args) == reads
    # The constants stay (the limit of 1 is not the amount of 1, which never changed).
    assert templates.predict(KEY, {"amount": 3, "from_id": 4, "to_id": 8}) == transfer(4, 8)[1]


def test_a_number_keeps_the_spelling_the_function_used() -> None:
    """A Python function sends 5.0 for an argument that came as 5: both a float64."""
    templates = learned(
        ({"from_id": 5, "to_id": 9}, [first_by_id(1, 5.0), first_by_id(2, 9.0)]),
        ({"from_id": 7, "to_id": 3}, [first_by_id(1, 7.0), first_by_id(2, 3.0)]),
    )
    predicted = templates.predict(KEY, {"from_id": 11, "to_id": 2})
    assert orjson.dumps(predicted) == orjson.dumps([first_by_id(1, 11.0), first_by_id(2, 2.0)])


def test_a_read_that_depends_on_data_ends_the_template() -> None:
    def call(account: str, owner: str) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
        return {"account": account}, [("1.0/get", {"id": account}), ("1.0/get", {"id": owner})]

    templates = learned(call("a1", "o1"), call("a2", "o2"))
    assert templates.predict(KEY, {"account": "a3"}) == [("1.0/get", {"id": "a3"})]


def test_an_ambiguous_leaf_ends_the_template() -> None:
    # Two arguments always equal: which one the read takes cannot be told.
    templates = learned(
        ({"a": "x1", "b": "x1"}, [("1.0/get", {"id": "x1"})]),
        ({"a": "x2", "b": "x2"}, [("1.0/get", {"id": "x2"})]),
    )
    assert templates.predict(KEY, {"a": "x3", "b": "x3"}) == []


def test_only_point_reads_and_small_limited_queries_are_predicted() -> None:
    def call(n: int, op: str, extra: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        return {"id": f"d{n}"}, [("1.0/get", {"id": f"d{n}"}), (op, {"queryId": 1, **extra})]

    for op, extra in (
        ("1.0/queryStreamNext", {}),  # an unlimited stream: collect()
        ("bayou/queryStreamBatch", {"max": 100}),  # take(100)
        ("1.0/insert", {"table": "t"}),
    ):
        templates = learned(call(1, op, extra), call(2, op, extra))
        assert templates.predict(KEY, {"id": "d3"}) == [("1.0/get", {"id": "d3"})], op
    many = [("1.0/get", {"id": f"{n}"}) for n in range(MAX_PREDICTED_READS + 4)]
    templates = learned(({"n": 1}, many), ({"n": 2}, many))
    assert len(templates.predict(KEY, {"n": 3})) == MAX_PREDICTED_READS


def test_a_wrong_guess_forgets_the_template_until_two_calls_teach_it_again() -> None:
    templates = learned(transfer(5, 9), transfer(7, 3))
    args, reads = transfer(1, 2)
    assert templates.predict(KEY, args) == reads
    templates.learn(KEY, args, reads, offered=2, used=1)
    assert templates.predict(KEY, transfer(4, 6)[0]) == []
    templates.learn(KEY, *transfer(4, 6), offered=0, used=0)
    templates.learn(KEY, *transfer(8, 10), offered=0, used=0)
    assert templates.predict(KEY, transfer(12, 14)[0]) == transfer(12, 14)[1]


def test_a_template_that_holds_is_kept() -> None:
    templates = learned(transfer(5, 9), transfer(7, 3))
    for n in range(10):
        args, reads = transfer(n, n + 100)
        assert templates.predict(KEY, args) == reads
        templates.learn(KEY, args, reads, offered=2, used=2)


def test_at_most_so_many_functions_are_remembered() -> None:
    templates = ReadTemplates(max_functions=2)
    for name in ("a", "b", "c"):
        for call in (transfer(5, 9), transfer(7, 3)):
            templates.learn(name, *call, offered=0, used=0)
    assert templates.predict("a", transfer(1, 2)[0]) == []
    assert templates.predict("c", transfer(1, 2)[0]) == transfer(1, 2)[1]


def test_large_arguments_are_left_out() -> None:
    assert arguments_of('{"a": 1}') == {"a": 1}
    assert arguments_of('{"a": "' + "x" * MAX_ARGS_BYTES + '"}') is None
