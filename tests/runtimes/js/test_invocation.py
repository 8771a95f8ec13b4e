"""Calls of the captured test app's functions through the JS runtime, with a fake handler."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bayou.errors import ConvexError
from bayou.runtimes.js import AnalysisError, JsRuntime, Module
from bayou.values.ids import encode_id
from tests.runtimes.js.fakedb import APP_VERSION, TABLES, FakeDb, invocation


async def test_query_with_index_and_filter_streams_its_query_to_the_handler_once(
    runtime: JsRuntime, db: FakeDb
) -> None:
    db.add("messages", author="ada", body="a", likes=3.0)
    db.add("messages", author="ada", body="b", likes=0.0)
    db.add("messages", author="bob", body="c", likes=9.0)
    result = await runtime.invoke(
        invocation("messages.js:byAuthor", {"author": "ada", "minLikes": 1}), db
    )
    assert result.ok, result.error_message
    assert [m["body"] for m in json.loads(result.value_json)] == ["a"]
    streams = [args for op, args in db.ops if op == "1.0/queryStreamNext"]
    assert streams[0]["query"]["source"] == {
        "type": "IndexRange",
        "indexName": "messages.by_author",
        "range": [{"type": "Eq", "fieldPath": "author", "value": "ada"}],
        "order": None,
    }
    assert streams[0]["query"]["operators"] == [
        {"filter": {"$gte": [{"$field": "likes"}, {"$literal": 1}]}}
    ]
    assert all(set(later) == {"queryId"} for later in streams[1:])
    # The cleanup reached the handler before invoke returned.
    assert db.ops[-1] == ("1.0/queryCleanup", {"queryId": streams[0]["queryId"]})


async def test_mutations_insert_get_patch_replace_and_delete_through_the_handler(
    runtime: JsRuntime, db: FakeDb
) -> None:
    def mutation(path, args):
        return runtime.invoke(invocation(path, args, udf_type="mutation"), db)

    sent = await mutation("messages.js:send", {"author": "ada", "body": "hi"})
    assert sent.ok, sent.error_message
    message_id = json.loads(sent.value_json)
    assert db.docs[message_id]["body"] == "hi"
    liked = await mutation("messages.js:like", {"id": message_id})
    assert json.loads(liked.value_json) == 1
    assert db.docs[message_id]["likes"] == 1
    edited = await mutation("messages.js:edit", {"id": message_id, "body": "edited"})
    assert edited.ok and edited.value_json == "null"
    assert db.docs[message_id] == {
        "_id": message_id,
        "_creationTime": db.docs[message_id]["_creationTime"],
        "author": "ada",
        "body": "edited",
        "likes": 1,
    }
    removed = await mutation("messages.js:remove", {"id": message_id})
    assert removed.ok and message_id not in db.docs
    ops = [op for op, _ in db.ops]
    assert ops == [
        "1.0/insert",
        "1.0/get", "1.0/shallowMerge",
        "1.0/get", "1.0/replace",
        "1.0/remove",
    ]  # fmt: skip


async def test_internal_mutation_runs_like_any_other(runtime: JsRuntime, db: FakeDb) -> None:
    db.add("messages", author="a", body="x", likes=0.0)
    db.add("messages", author="b", body="y", likes=0.0)
    result = await runtime.invoke(invocation("messages.js:resetAll", {}, udf_type="mutation"), db)
    assert result.value_json == "2"
    assert db.docs == {}


async def test_normalize_id_is_answered_in_the_worker_with_the_call_table_numbers(
    runtime: JsRuntime, db: FakeDb
) -> None:
    message_id = encode_id(TABLES["messages"], bytes(range(16)))
    counter_id = encode_id(TABLES["counters"], bytes(range(16)))

    async def normalize(text):
        result = await runtime.invoke(invocation("messages.js:normalize", {"id": text}), db)
        assert result.ok, result.error_message
        return json.loads(result.value_json)

    assert await normalize(message_id) == message_id
    assert await normalize(counter_id) is None
    assert await normalize(message_id[:-1] + ("0" if message_id[-1] != "0" else "1")) is None
    assert await normalize("not an id") is None
    assert db.ops == []


async def test_same_seed_gives_same_randomness_and_time_is_frozen(
    runtime: JsRuntime, db: FakeDb
) -> None:
    async def run(seed):
        result = await runtime.invoke(
            invocation("misc.js:randomness", seed=seed, now_ms=1_234_567_890_123.0), db
        )
        assert result.ok, result.error_message
        return json.loads(result.value_json)

    first, again, other = await run(1), await run(1), await run(2)
    assert first["random"] == again["random"]
    assert first["random"] != other["random"]
    assert len(set(first["random"])) == 3
    assert all(0 <= r < 1 for r in first["random"])
    assert first["now"] == first["date"] == first["later"] == 1_234_567_890_123


async def test_environment_variables_are_visible_per_call(runtime: JsRuntime, db: FakeDb) -> None:
    first = await runtime.invoke(invocation("misc.js:env", {"name": "GREETING"}), db)
    assert first.value_json == '"hello"'
    other = await runtime.invoke(
        invocation("misc.js:env", {"name": "GREETING"}, env={"GREETING": "bonjour"}), db
    )
    assert other.value_json == '"bonjour"'
    missing = await runtime.invoke(invocation("misc.js:env", {"name": "NOPE"}), db)
    assert missing.value_json == "null"


async def test_console_output_becomes_log_lines_formatted_like_convex(
    runtime: JsRuntime, db: FakeDb
) -> None:
    result = await runtime.invoke(invocation("misc.js:logs"), db)
    assert result.ok
    lines = [(line["level"], line["messages"]) for line in result.log_lines]
    assert lines == [
        ("LOG", ["'hello'", "42", "{\n  a: [ 1, 'two' ],\n  b: null\n}", "undefined"]),
        ("INFO", ["'info'"]),
        ("WARN", ["'warn'"]),
        ("ERROR", ["[Error: shown]"]),
        ("DEBUG", ["true"]),
    ]
    assert all(not line["isTruncated"] and line["timestamp"] > 0 for line in result.log_lines)


async def test_thrown_error_reports_the_original_source_location(
    runtime: JsRuntime, db: FakeDb
) -> None:
    result = await runtime.invoke(invocation("misc.js:fails"), db)
    assert not result.ok
    assert result.error_message == "Uncaught Error: boom\n    at handler (../convex/misc.ts:36:11)"
    assert result.error_data_json is None


async def test_convex_error_data_reaches_the_caller(runtime: JsRuntime, db: FakeDb) -> None:
    result = await runtime.invoke(invocation("misc.js:failsWithData"), db)
    assert not result.ok
    assert result.error_message.startswith('Uncaught ConvexError: {"code":42,"why":"nope"}')
    assert json.loads(result.error_data_json) == {"code": 42, "why": "nope"}


async def test_errors_raised_by_the_handler_are_thrown_in_js(runtime: JsRuntime) -> None:
    class Failing(FakeDb):
        async def op_get(self, args):
            raise ConvexError({"code": "DENIED"})

        async def op_insert(self, args):
            raise RuntimeError("Table messages is read-only")

    db = Failing()
    denied = await runtime.invoke(
        invocation("messages.js:like", {"id": db.add("messages", likes=0.0)}, udf_type="mutation"),
        db,
    )
    assert not denied.ok
    assert json.loads(denied.error_data_json) == {"code": "DENIED"}
    assert denied.error_message.startswith("Uncaught ConvexError:")
    refused = await runtime.invoke(
        invocation("messages.js:send", {"author": "a", "body": "b"}, udf_type="mutation"), db
    )
    assert refused.error_message.startswith("Uncaught Error: Table messages is read-only")
    assert refused.error_data_json is None


async def test_fetch_and_timers_are_refused_in_queries(runtime: JsRuntime, db: FakeDb) -> None:
    fetch = await runtime.invoke(invocation("misc.js:usesFetch"), db)
    assert fetch.error_message.startswith(
        "Uncaught Error: Can't use fetch() in queries and mutations. Please consider using an action."
    )
    timer = await runtime.invoke(invocation("misc.js:usesTimer"), db)
    assert timer.error_message.startswith("Uncaught Error: Can't use setTimeout in queries")


async def test_int64_and_bytes_cross_as_convex_json(runtime: JsRuntime, db: FakeDb) -> None:
    result = await runtime.invoke(
        invocation("misc.js:bigints", {"n": {"$integer": "BQAAAAAAAAA="}}), db
    )
    assert json.loads(result.value_json) == {
        "bytes": {"$bytes": "AAAA"},
        "doubled": {"$integer": "CgAAAAAAAAA="},
    }


async def test_calling_a_function_as_the_wrong_type_is_refused(
    runtime: JsRuntime, db: FakeDb
) -> None:
    result = await runtime.invoke(invocation("misc.js:noop", udf_type="mutation"), db)
    assert result.error_message == (
        "Uncaught Error: Trying to execute misc.js:noop as Mutation, but it is defined as Query."
    )
    missing = await runtime.invoke(invocation("misc.js:nothing"), db)
    assert "Couldn't find function 'nothing'" in missing.error_message


async def test_action_fetches_runs_nested_functions_and_uses_timers(
    runtime: JsRuntime, db: FakeDb, loopback_url: str
) -> None:
    result = await runtime.invoke(
        invocation("actions.js:roundTrip", {"url": loopback_url, "author": "ada"}), db
    )
    assert result.ok, result.error_message
    value = json.loads(result.value_json)
    assert value["body"] == "fetched over loopback"
    assert value["count"] == 1
    assert value["removed"] == 1
    ops = [op for op, _ in db.ops]
    assert ops[:3] == ["1.0/actions/mutation", "1.0/insert", "1.0/actions/query"]
    assert "1.0/actions/mutation" in ops[3:]


async def test_use_node_action_can_import_node_builtins(runtime: JsRuntime, db: FakeDb) -> None:
    result = await runtime.invoke(invocation("nodeActions.js:sha", {"text": "abc"}), db)
    assert result.ok, result.error_message
    assert json.loads(result.value_json) == {
        "sha": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "host": "string",
    }


async def test_fresh_context_per_call_mode_gives_the_same_results(pushed_app, node: str) -> None:
    rt = JsRuntime(node=node, workers=1, max_context_uses=1)
    await rt.start()
    try:
        await rt.load("app", pushed_app)
        db = FakeDb(rt)
        for _ in range(3):
            result = await rt.invoke(invocation("misc.js:randomness", seed=5), db)
            assert result.ok
        first = await rt.invoke(invocation("misc.js:randomness", seed=5), db)
        again = await rt.invoke(invocation("misc.js:randomness", seed=5), db)
        assert first.value_json == again.value_json
    finally:
        await rt.close()


@pytest.mark.parametrize("max_context_uses", [0, 1])
async def test_module_state_lasts_only_as_long_as_the_context(
    pushed_app, node: str, max_context_uses: int
) -> None:
    # Convex semantics (max_context_uses=1): every call starts from freshly evaluated
    # modules. The default reuses a version's context, so module state carries over.
    rt = JsRuntime(node=node, workers=1, max_context_uses=max_context_uses)
    await rt.start()
    try:
        await rt.load("app", pushed_app)
        db = FakeDb(rt)
        seen = []
        for _ in range(4):
            result = await rt.invoke(invocation("misc.js:moduleState"), db)
            assert result.ok, result.error_message
            seen.append(json.loads(result.value_json))
        assert seen == ([1, 2, 3, 4] if max_context_uses == 0 else [1, 1, 1, 1])
    finally:
        await rt.close()


async def test_log_lines_are_capped_and_long_lines_truncated(
    runtime: JsRuntime, db: FakeDb
) -> None:
    many = await runtime.invoke(invocation("misc.js:manyLogs", {"lines": 300, "size": 1}), db)
    assert len(many.log_lines) == 256
    assert many.log_lines[-1]["level"] == "ERROR"
    assert many.log_lines[-1]["messages"] == [
        "Log overflow (maximum 256). Remaining log lines omitted."
    ]
    long = await runtime.invoke(invocation("misc.js:manyLogs", {"lines": 1, "size": 40000}), db)
    (line,) = long.log_lines
    assert line["isTruncated"]
    assert len(line["messages"]) == 1
    assert len(line["messages"][0]) == 32768


async def test_external_packages_of_use_node_modules_are_refused_clearly(node: str) -> None:
    # The CLI leaves packages listed in convex.json's node.externalPackages unbundled and
    # sends them as nodeDependencies; installing them is not supported yet.
    module = Module(
        "ext.js",
        'import pad from "left-pad";\nexport const padded = pad("x", 3);\n',
        environment="node",
    )
    rt = JsRuntime(node=node, workers=1)
    await rt.start()
    try:
        await rt.load("ext", [module])
        with pytest.raises(AnalysisError, match=r"'left-pad'.*nodeDependencies"):
            await rt.analyze("ext")
    finally:
        await rt.close()


async def test_module_top_level_sees_the_import_seed_and_time(
    runtime: JsRuntime, db: FakeDb
) -> None:
    first = json.loads((await runtime.invoke(invocation("misc.js:importPhase"), db)).value_json)
    assert first["importedAt"] == 1_600_000_000_000
    assert first["now"] == 1_700_000_000_000
    again = await runtime.invoke(invocation("misc.js:importPhase", seed=99), db)
    assert json.loads(again.value_json)["importRandom"] == first["importRandom"]


async def test_convex_error_of_a_nested_query_reaches_the_action_with_its_data(
    runtime: JsRuntime, db: FakeDb
) -> None:
    result = await runtime.invoke(invocation("actions.js:catchesConvexError"), db)
    assert result.ok, result.error_message
    assert json.loads(result.value_json) == {
        "isConvexError": True,
        "data": {"code": 42, "why": "nope"},
    }


# -- deferred writes ---------------------------------------------------------------------


class RefusingPatches(FakeDb):
    async def op_shallowMerge(self, args: dict[str, Any]) -> Any:
        raise ValueError(f"no patching {args['id']}")


async def test_deferred_writes_reach_the_handler_in_order_with_fewer_round_trips(
    runtime: JsRuntime, db: FakeDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bayou.runtimes.js import worker

    answers: list[int] = []
    send_results = worker.Worker._send_results

    def counting(self: worker.Worker, state: Any, results: list[Any]) -> None:
        answers.append(len(results))
        send_results(self, state, results)

    monkeypatch.setattr(worker.Worker, "_send_results", counting)
    a = db.add("counters", value=10.0)
    b = db.add("counters", value=0.0)
    args = {"from": a, "to": b, "amount": 3}
    plain = await runtime.invoke(invocation("messages.js:transfer", args, udf_type="mutation"), db)
    assert plain.ok, plain.error_message
    assert len(answers) == 4  # get, get, patch, patch: each awaited
    answers.clear()
    deferred = invocation("messages.js:transfer", args, udf_type="mutation", defer_writes=True)
    result = await runtime.invoke(deferred, db)
    assert result.ok and not result.deferred_write_failed, result.error_message
    assert len(answers) == 2  # the gets; the patches came with the result
    assert [op for op, _ in db.ops[-4:]] == [
        "1.0/get", "1.0/get", "1.0/shallowMerge", "1.0/shallowMerge",
    ]  # fmt: skip
    assert (db.docs[a]["value"], db.docs[b]["value"]) == (4.0, 6.0)


class WritesWithoutReadBack(FakeDb):
    """A handler with `deferred_write`: deferred writes go there, not to `async_syscall`."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.deferred: list[str] = []

    async def deferred_write(self, op: str, args: dict[str, Any]) -> None:
        self.deferred.append(op)
        await self.async_syscall(op, args)


async def test_deferred_writes_go_to_the_handler_s_deferred_write(runtime: JsRuntime) -> None:
    db = WritesWithoutReadBack(runtime, APP_VERSION)
    a = db.add("counters", value=10.0)
    b = db.add("counters", value=0.0)
    args = {"from": a, "to": b, "amount": 3}
    deferred = invocation("messages.js:transfer", args, udf_type="mutation", defer_writes=True)
    assert (await runtime.invoke(deferred, db)).ok
    assert db.deferred == ["1.0/shallowMerge", "1.0/shallowMerge"]
    assert (
        await runtime.invoke(invocation("messages.js:transfer", args, udf_type="mutation"), db)
    ).ok
    assert len(db.deferred) == 2  # awaited writes are ordinary syscalls
    assert (db.docs[a]["value"], db.docs[b]["value"]) == (4.0, 6.0)


async def test_a_failed_deferred_write_voids_the_call_and_nothing_after_it_runs(
    runtime: JsRuntime,
) -> None:
    db = RefusingPatches(runtime, APP_VERSION)
    a = db.add("counters", value=10.0)
    b = db.add("counters", value=0.0)
    args = {"from": a, "to": b, "amount": 3}
    deferred = invocation("messages.js:transfer", args, udf_type="mutation", defer_writes=True)
    result = await runtime.invoke(deferred, db)
    assert result.deferred_write_failed
    # The second patch, after the failed first one, never reached the handler.
    assert [op for op, _ in db.ops].count("1.0/shallowMerge") == 1
    # Without deferral the same failure is the function's error, thrown at the await.
    plain = await runtime.invoke(invocation("messages.js:transfer", args, udf_type="mutation"), db)
    assert not plain.ok and not plain.deferred_write_failed
    assert f"no patching {a}" in (plain.error_message or "")


# -- reads made ahead (predicted, or a re-run's) ----------------------------------------


def _transfer_reads(db: FakeDb, a: str, b: str) -> list[list[Any]]:
    """The two `db.get`s of messages.js:transfer as the runtime sends them."""
    gets = [args for op, args in db.ops if op == "1.0/get"]
    assert [g["id"] for g in gets[:2]] == [a, b]
    return [["1.0/get", gets[0], db.docs[a]], ["1.0/get", gets[1], db.docs[b]]]


async def test_reads_made_ahead_answer_the_function_without_reaching_the_handler(
    runtime: JsRuntime, db: FakeDb
) -> None:
    a = db.add("counters", value=10.0)
    b = db.add("counters", value=0.0)
    args = {"from": a, "to": b, "amount": 3}
    first = await runtime.invoke(
        invocation("messages.js:transfer", args, udf_type="mutation", defer_writes=True), db
    )
    assert first.ok, first.error_message
    ahead = _transfer_reads(db, a, b)
    # The host's answers win: they are what this attempt's snapshot holds.
    ahead[0][2] = {**db.docs[a], "value": 100.0}
    db.ops.clear()
    rerun = invocation(
        "messages.js:transfer", args, udf_type="mutation", defer_writes=True, read_ahead=ahead
    )
    result = await runtime.invoke(rerun, db)
    assert result.ok, result.error_message
    assert result.read_ahead_used == 2  # what the runner learns from
    assert [op for op, _ in db.ops] == ["1.0/shallowMerge", "1.0/shallowMerge"]
    assert (db.docs[a]["value"], db.docs[b]["value"]) == (97.0, 6.0)


async def test_reads_made_ahead_are_used_only_while_the_function_asks_exactly_them(
    runtime: JsRuntime, db: FakeDb
) -> None:
    a = db.add("counters", value=10.0)
    b = db.add("counters", value=0.0)
    args = {"from": a, "to": b, "amount": 1}
    assert (
        await runtime.invoke(invocation("messages.js:transfer", args, udf_type="mutation"), db)
    ).ok
    ahead = _transfer_reads(db, a, b)
    stale = {**db.docs[a], "value": 100.0}

    # Out of order: the first syscall is not the first read made ahead, so none is used.
    db.ops.clear()
    swapped = [ahead[1], ["1.0/get", ahead[0][1], stale]]
    call = invocation("messages.js:transfer", args, udf_type="mutation", read_ahead=swapped)
    result = await runtime.invoke(call, db)
    assert result.ok and result.read_ahead_used == 0
    assert [op for op, _ in db.ops] == [
        "1.0/get",
        "1.0/get",
        "1.0/shallowMerge",
        "1.0/shallowMerge",
    ]
    assert db.docs[a]["value"] == 8.0

    # A prefix: the first read is answered ahead, the second goes to the handler.
    db.ops.clear()
    prefix = [["1.0/get", ahead[0][1], {**db.docs[a], "value": 50.0}]]
    call = invocation("messages.js:transfer", args, udf_type="mutation", read_ahead=prefix)
    assert (await runtime.invoke(call, db)).ok
    assert [(op, a_["id"]) for op, a_ in db.ops if op == "1.0/get"] == [("1.0/get", b)]
    assert db.docs[a]["value"] == 49.0


async def test_a_write_ends_the_reads_made_ahead(runtime: JsRuntime, db: FakeDb) -> None:
    """messages.js:bump reads, patches and reads the same document again: the second read
    must see the patch, not an answer made before it."""
    c = db.add("counters", value=1.0)
    first = await runtime.invoke(
        invocation("messages.js:bump", {"id": c}, udf_type="mutation", defer_writes=True), db
    )
    assert first.ok and first.value_json == "2", first.value_json
    get = next(args for op, args in db.ops if op == "1.0/get")
    # A host that (wrongly) offered both reads: only the one before the write is used.
    ahead = [["1.0/get", get, {**db.docs[c], "value": 10.0}], ["1.0/get", get, dict(db.docs[c])]]
    db.ops.clear()
    call = invocation(
        "messages.js:bump", {"id": c}, udf_type="mutation", defer_writes=True, read_ahead=ahead
    )
    result = await runtime.invoke(call, db)
    assert result.ok and result.value_json == "11", (result.value_json, result.error_message)
    assert [op for op, _ in db.ops] == ["1.0/shallowMerge", "1.0/get"]


async def test_a_limited_query_takes_its_results_in_one_round_trip(
    runtime: JsRuntime, db: FakeDb
) -> None:
    for body in ("a", "b", "c"):
        db.add("messages", author="ada", body=body, likes=0.0)
    result = await runtime.invoke(invocation("messages.js:firstAndTwoBy", {"author": "ada"}), db)
    assert result.ok, result.error_message
    assert json.loads(result.value_json) == {"first": "a", "two": ["a", "b"]}
    batches = [args["max"] for op, args in db.ops if op == "bayou/queryStreamBatch"]
    assert batches == [1, 2]  # first() and take(2): one syscall each, nothing read past
    assert not [op for op, _ in db.ops if op == "1.0/queryStreamNext"]
