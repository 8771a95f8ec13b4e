"""Invoking the example app's functions in workers against a fake core: results, errors and
the exact syscall JSON (the npm package's shapes, plus Bayou's batched query stream)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from bayou.errors import BadRequest
from bayou.values import json as vjson
from tests.runtimes.python.conftest import APP_DIR
from tests.runtimes.python.fake import FakeBackend

pytestmark = pytest.mark.asyncio(loop_scope="module")

VERSION = "1.48.0"


def line_of(module: str, text: str) -> int:
    """The line of the example app's `module` that contains `text`."""
    lines = (APP_DIR / module).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def ops(backend: FakeBackend, *names: str) -> list[tuple[str, Any]]:
    return [(op, args) for op, args in backend.log if not names or op in names]


async def channel_with_messages(backend: FakeBackend) -> tuple[str, list[str]]:
    channel = backend.add("channels", {"name": "general"})
    ids = [
        backend.add("messages", {"channel": channel, "author": a, "body": b, "likes": float(n)})
        for n, (a, b) in enumerate([("ada", "hello"), ("bob", "hi"), ("ada", "bye")])
    ]
    return channel, ids


async def test_insert_sends_the_document_json_and_returns_the_id(backend: FakeBackend) -> None:
    channel = await backend.value("mutation", "channels.js:create", {"name": "general"})
    assert backend.docs[channel]["name"] == "general"
    assert ops(backend) == [("1.0/insert", {"table": "channels", "value": {"name": "general"}})]


async def test_index_range_query_streams_in_one_batch_with_order_and_limit(
    backend: FakeBackend,
) -> None:
    channel, ids = await channel_with_messages(backend)
    docs = await backend.value("query", "messages.js:list", {"channel": channel})
    assert [d["_id"] for d in docs] == list(reversed(ids))
    assert ops(backend) == [
        (
            "bayou/queryStreamBatch",
            {
                "queryId": 1,
                "query": {
                    "source": {
                        "type": "IndexRange",
                        "indexName": "messages.by_channel",
                        "range": [{"type": "Eq", "fieldPath": "channel", "value": channel}],
                        "order": "desc",
                    },
                    "operators": [{"limit": 50}],
                },
                "version": VERSION,
                "max": 50,
            },
        )
    ]


async def test_two_field_index_range(backend: FakeBackend) -> None:
    channel, ids = await channel_with_messages(backend)
    docs = await backend.value(
        "query", "messages.js:by_author", {"channel": channel, "author": "ada"}
    )
    assert [d["_id"] for d in docs] == [ids[0], ids[2]]
    ((_, args),) = ops(backend)
    assert args["query"]["source"]["range"] == [
        {"type": "Eq", "fieldPath": "channel", "value": channel},
        {"type": "Eq", "fieldPath": "author", "value": "ada"},
    ]
    assert args["max"] == 1024


async def test_filter_expressions_serialize_like_the_filter_builder(backend: FakeBackend) -> None:
    await channel_with_messages(backend)
    docs = await backend.value("query", "messages.js:popular", {"min_likes": 1})
    assert [d["body"] for d in docs] == ["hi", "bye"]
    ((_, args),) = ops(backend)
    assert args["query"] == {
        "source": {"type": "FullTableScan", "tableName": "messages", "order": None},
        "operators": [
            {
                "filter": {
                    "$and": [
                        {"$gte": [{"$field": "likes"}, {"$literal": 1.0}]},
                        {"$neq": [{"$field": "body"}, {"$literal": ""}]},
                    ]
                }
            }
        ],
    }


async def test_first_asks_for_one_document(backend: FakeBackend) -> None:
    await channel_with_messages(backend)
    doc = await backend.value("query", "messages.js:first_by", {"author": "ada"})
    assert doc["body"] == "hello"
    assert [(op, args["max"]) for op, args in ops(backend)] == [("bayou/queryStreamBatch", 1)]


async def test_an_abandoned_stream_is_cleaned_up_before_the_result(backend: FakeBackend) -> None:
    channel = backend.add("channels", {"name": "general"})
    for i in range(40):  # more than the first batch of an iteration
        backend.add("messages", {"channel": channel, "author": f"a{i}", "body": "x"})
    assert await backend.value("query", "misc.js:first_author") == "a0"
    assert [op for op, _ in ops(backend)] == ["bayou/queryStreamBatch", "1.0/queryCleanup"]
    assert ops(backend, "1.0/queryCleanup") == [("1.0/queryCleanup", {"queryId": 1})]


async def test_unique_raises_when_two_documents_match(backend: FakeBackend) -> None:
    _, ids = await channel_with_messages(backend)
    assert (await backend.value("query", "messages.js:only_by", {"author": "bob"}))["_id"] == ids[1]
    result = await backend.call("query", "messages.js:only_by", {"author": "ada"})
    assert not result.ok
    assert result.error_message is not None
    assert result.error_message.startswith(
        "Uncaught ValueError: unique() query returned more than one result from table messages:"
    )
    assert f"[{ids[0]}, {ids[2]}, ...]" in result.error_message


async def test_iteration_batches_and_uses_absolute_and_relative_imports(
    backend: FakeBackend,
) -> None:
    await channel_with_messages(backend)
    assert await backend.value("query", "messages.js:summaries") == [
        "ada: hello",
        "bob: hi",
        "ada: bye",
    ]
    assert [args["max"] for _, args in ops(backend)] == [32]


async def test_paginate_sends_query_page(backend: FakeBackend) -> None:
    await channel_with_messages(backend)
    page = await backend.value(
        "query", "messages.js:page", {"paginationOpts": {"numItems": 2, "cursor": None}}
    )
    assert [d["body"] for d in page["page"]] == ["bye", "hi"]
    assert page["isDone"] is False and page["continueCursor"] == "2"
    ((op, args),) = ops(backend)
    assert op == "1.0/queryPage"
    assert args == {
        "query": {
            "source": {"type": "FullTableScan", "tableName": "messages", "order": "desc"},
            "operators": [],
        },
        "cursor": None,
        "endCursor": None,
        "pageSize": 2.0,
        "maximumRowsRead": None,
        "version": VERSION,
    }
    last = await backend.value(
        "query", "messages.js:page", {"paginationOpts": {"numItems": 2, "cursor": "2"}}
    )
    assert [d["body"] for d in last["page"]] == ["hello"] and last["isDone"] is True


async def test_search_query_source(backend: FakeBackend) -> None:
    await channel_with_messages(backend)
    docs = await backend.value("query", "messages.js:search", {"text": "hel"})
    assert [d["body"] for d in docs] == ["hello"]
    ((_, args),) = ops(backend)
    assert args["query"]["source"] == {
        "type": "Search",
        "indexName": "messages.search_body",
        "filters": [{"type": "Search", "fieldPath": "body", "value": "hel"}],
    }


async def test_get_patch_replace_delete_send_the_npm_shapes(backend: FakeBackend) -> None:
    channel, ids = await channel_with_messages(backend)
    assert await backend.value("mutation", "messages.js:like", {"id": ids[0]}) == 1.0
    await backend.value("mutation", "messages.js:unlike_all", {"id": ids[0]})
    await backend.value("mutation", "messages.js:rewrite", {"id": ids[1], "body": "edited"})
    assert "likes" not in backend.docs[ids[0]]
    assert backend.docs[ids[1]]["body"] == "edited" and "likes" not in backend.docs[ids[1]]
    assert ops(backend) == [
        ("1.0/get", {"id": ids[0], "isSystem": False, "version": VERSION}),
        ("1.0/shallowMerge", {"id": ids[0], "value": {"likes": 1.0}}),
        (
            "1.0/shallowMerge",
            {"id": ids[0], "value": {"likes": {"$undefined": None}}, "table": "messages"},
        ),
        ("1.0/get", {"id": ids[1], "isSystem": False, "version": VERSION, "table": "messages"}),
        (
            "1.0/replace",
            {"id": ids[1], "value": {"author": "bob", "body": "edited", "channel": channel}},
        ),
    ]
    assert await backend.value("mutation", "messages.js:clear") == 3.0
    assert [op for op, _ in ops(backend)][-3:] == ["1.0/remove"] * 3
    assert ops(backend, "1.0/remove")[0] == ("1.0/remove", {"id": ids[0]})


async def test_convex_error_data_round_trips(backend: FakeBackend) -> None:
    channel = backend.add("channels", {"name": "general"})
    result = await backend.call(
        "mutation", "messages.js:send", {"channel": channel, "author": "ada", "body": "   "}
    )
    assert not result.ok
    assert orjson.loads(result.error_data_json or "") == {"author": "ada", "code": "EMPTY_MESSAGE"}
    line = line_of("messages.py", 'raise ConvexError({"code": "EMPTY_MESSAGE"')
    assert result.error_message == (
        'Uncaught ConvexError: {"code":"EMPTY_MESSAGE","author":"ada"}\n'
        f'  File "messages.py", line {line}, in send\n'
        '    raise ConvexError({"code": "EMPTY_MESSAGE", "author": author})'
    )
    gone = backend.add("messages", {"channel": channel, "author": "x", "body": "y"})
    del backend.docs[gone]
    not_found = await backend.call("mutation", "messages.js:like", {"id": gone})
    assert orjson.loads(not_found.error_data_json or "") == "NOT_FOUND"


async def test_other_exceptions_carry_a_trimmed_traceback_raising_line_first(
    backend: FakeBackend,
) -> None:
    result = await backend.call("query", "misc.js:boom")
    assert result.error_data_json is None
    call_line = line_of("misc.py", "    helper_that_fails()")
    raise_line = line_of("misc.py", 'raise ValueError("boom")')
    assert result.error_message == (
        "Uncaught ValueError: boom\n"
        f'  File "misc.py", line {raise_line}, in helper_that_fails\n'
        '    raise ValueError("boom")\n'
        f'  File "misc.py", line {call_line}, in boom\n'
        "    helper_that_fails()"
    )


async def test_values_convex_cannot_store_fail_with_the_fix(backend: FakeBackend) -> None:
    result = await backend.call("query", "misc.js:bad_return")
    assert result.error_message is not None
    assert "The return value of misc:bad_return: the value at `.tags` is a set" in (
        result.error_message
    )
    result = await backend.call("query", "misc.js:huge_int")
    assert result.error_message is not None
    assert "Int64(1152921504606846976)" in result.error_message


async def test_syscall_errors_surface_in_user_code(backend: FakeBackend) -> None:
    text = await backend.value("query", "misc.js:missing_index")
    assert text == "BackendError: Index messages.nope not found."
    result = await backend.call("mutation", "misc.js:upload_url")
    assert result.error_message is not None
    assert result.error_message.startswith(
        "Uncaught BackendError: 1.0/storageGenerateUploadUrl is not supported"
    )
    assert ops(backend, "1.0/storageGenerateUploadUrl") == [
        ("1.0/storageGenerateUploadUrl", {"requestId": "", "version": VERSION})
    ]


async def test_scheduler_uses_the_frozen_clock(backend: FakeBackend) -> None:
    await backend.value("mutation", "misc.js:later", {"delay": 2.5})
    assert ops(backend, "1.0/schedule") == [
        (
            "1.0/schedule",
            {
                "name": "messages:clear",
                "ts": backend.now_ms / 1000 + 2.5,
                "args": {},
                "version": VERSION,
            },
        )
    ]


async def test_normalize_id_is_answered_in_the_worker(backend: FakeBackend) -> None:
    _, ids = await channel_with_messages(backend)
    check = "messages.js:normalize_id"
    assert await backend.value("query", check, {"table": "messages", "id": ids[0]}) == ids[0]
    assert await backend.value("query", check, {"table": "channels", "id": ids[0]}) is None
    assert await backend.value("query", check, {"table": "messages", "id": "nope"}) is None
    assert await backend.value("query", check, {"table": "unknown", "id": ids[0]}) is None
    assert backend.log == []


async def test_action_runs_mutation_and_query_through_action_syscalls(
    backend: FakeBackend,
) -> None:
    channel = backend.add("channels", {"name": "general"})
    result = await backend.value(
        "action",
        "actions.js:post_and_read",
        {"channel": channel, "author": "ada", "body": "from an action"},
    )
    assert result["body"] == "from an action"
    calls = ops(backend, "1.0/actions/mutation", "1.0/actions/query")
    assert calls == [
        (
            "1.0/actions/mutation",
            {
                "name": "messages:send",
                "args": {"author": "ada", "body": "from an action", "channel": channel},
                "version": VERSION,
                "requestId": "req-1",
            },
        ),
        (
            "1.0/actions/query",
            {
                "name": "messages:body_of",
                "args": {"id": result["id"]},
                "version": VERSION,
                "requestId": "req-1",
            },
        ),
    ]


async def test_sync_action_and_parallel_async_action(backend: FakeBackend) -> None:
    channel, _ = await channel_with_messages(backend)
    assert await backend.value("action", "actions.js:count_sync", {"channel": channel}) == 3.0
    both = await backend.value("action", "actions.js:parallel", {"channel": channel})
    assert both["channel"]["name"] == "general" and both["count"] == 3.0


async def test_async_query_batches_concurrent_syscalls(backend: FakeBackend) -> None:
    await channel_with_messages(backend)
    backend.identity = {"tokenIdentifier": "t|1", "subject": "1", "issuer": "t"}
    assert await backend.value("query", "misc.js:gathered") == [1.0, 1.0, backend.identity]
    assert [op for op, _ in backend.log] == [
        "bayou/queryStreamBatch",
        "bayou/queryStreamBatch",
        "1.0/getUserIdentity",
    ]
    assert backend.log[2] == ("1.0/getUserIdentity", {"requestId": ""})


async def test_nested_run_mutation_error_reaches_the_caller(backend: FakeBackend) -> None:
    channel = backend.add("channels", {"name": "general"})
    result = await backend.call(
        "action", "actions.js:post_and_read", {"channel": channel, "author": "a", "body": " "}
    )
    assert not result.ok
    assert orjson.loads(result.error_data_json or "") == {"author": "a", "code": "EMPTY_MESSAGE"}
    assert result.error_message is not None
    assert result.error_message.startswith("Uncaught ConvexError:")


async def test_http_action_routes_requests(backend: FakeBackend) -> None:
    channel = backend.add("channels", {"name": "general"})
    body = orjson.dumps({"channel": channel, "author": "web", "body": "posted"})
    request = {
        "method": "POST",
        "url": "http://127.0.0.1:3211/postMessage",
        "headers": [["content-type", "application/json"]],
        "body": body,
    }
    response = await backend.value("action", "http.js:default", vjson.to_json(request))
    assert response["status"] == 201.0
    assert ["content-type", "application/json"] in response["headers"]
    assert orjson.loads(response["body"])["id"] in backend.docs
    assert response["routedPath"] == "/postMessage"
    echo = await backend.value(
        "action",
        "http.js:default",
        {"method": "HEAD", "url": "http://x/echo/a/b", "headers": [], "body": None},
    )
    assert echo["body"] == b"HEAD /echo/a/b" and echo["routedPath"] == "/echo/*"
    missing = await backend.value(
        "action", "http.js:default", {"method": "GET", "url": "http://x/none", "headers": []}
    )
    assert missing["status"] == 404.0 and missing["body"] == b"No HttpAction routed for /none"


async def test_calling_a_function_as_the_wrong_kind_or_a_missing_one_fails_clearly(
    backend: FakeBackend,
) -> None:
    wrong = await backend.call("query", "messages.js:send", {})
    assert wrong.error_message == (
        "Uncaught Error: Trying to execute messages.js:send as Query, but it is defined as "
        "Mutation."
    )
    missing = await backend.call("query", "messages.js:nope", {})
    assert missing.error_message == (
        "Uncaught Error: Couldn't find function 'nope' in module 'messages.py'"
    )
    no_module = await backend.call("query", "nothere.js:f", {})
    assert no_module.error_message == "Uncaught Error: Couldn't find module 'nothere.py'"
    bad_args = await backend.call("query", "misc.js:env", {"nom": "x"})
    assert bad_args.error_message is not None
    assert bad_args.error_message == (
        "Uncaught TypeError: misc:env: missing a required argument: 'name'"
    )


async def test_run_query_from_a_mutation_uses_run_udf_in_the_same_transaction(
    backend: FakeBackend,
) -> None:
    _, ids = await channel_with_messages(backend)
    assert await backend.value("mutation", "misc.js:read_via_run_query", {"id": ids[0]}) == "hello"
    assert ops(backend) == [
        ("1.0/runUdf", {"udfType": "query", "args": {"id": ids[0]}, "name": "messages:body_of"}),
        ("1.0/get", {"id": ids[0], "isSystem": False, "version": VERSION}),
    ]


async def test_system_tables_are_read_through_db_system(backend: FakeBackend) -> None:
    job = backend.add("_scheduled_functions", {"name": "messages.js:clear"})
    result = await backend.value("query", "misc.js:scheduled")
    assert result["count"] == 1.0 and result["first"]["_id"] == job
    assert result["refused"] == ("System tables can only be accessed from db.system.query().")
    assert ops(backend, "1.0/get") == [
        ("1.0/get", {"id": job, "isSystem": True, "version": VERSION})
    ]


async def test_action_scheduler_and_storage_syscalls(backend: FakeBackend) -> None:
    result = await backend.value("action", "misc.js:schedule_and_store")
    assert result["stored"].startswith("BackendError: 1.0/storageStore is not supported")
    assert ops(backend, "1.0/actions/schedule", "1.0/actions/cancel_job", "1.0/storageStore") == [
        (
            "1.0/actions/schedule",
            {
                "requestId": "req-1",
                "name": "messages:clear",
                "ts": 1893456000.0,
                "args": {"reason": "new year"},
                "version": VERSION,
            },
        ),
        ("1.0/actions/cancel_job", {"requestId": "req-1", "id": result["job"]}),
        (
            "1.0/storageStore",
            {"requestId": "req-1", "version": VERSION, "blob": "aGk=", "contentType": "text/plain"},
        ),
    ]


async def test_get_by_id_and_user_identity_in_actions(backend: FakeBackend) -> None:
    channel = await backend.value("mutation", "channels.js:create", {"name": "random"})
    assert (await backend.value("query", "channels.js:get", {"id": channel}))["name"] == "random"
    assert await backend.value("action", "actions.js:who") is None
    backend.identity = {"subject": "user-1", "issuer": "https://issuer", "tokenIdentifier": "x"}
    assert await backend.value("action", "actions.js:who") == backend.identity
    assert ops(backend, "1.0/getUserIdentity")[-1] == (
        "1.0/getUserIdentity",
        {"requestId": "req-1"},
    )


async def test_async_iteration_streams_in_growing_batches(backend: FakeBackend) -> None:
    channel = backend.add("channels", {"name": "general"})
    for i in range(50):
        backend.add("messages", {"channel": channel, "author": f"a{i:02}", "body": "x"})
    result = await backend.value("query", "misc.js:authors_async")
    assert result["authors"] == [f"a{i:02}" for i in reversed(range(50))]
    assert result["first"] == "a00"
    assert [args["max"] for _, args in ops(backend)] == [32, 64, 1]


# -- deferred writes -----------------------------------------------------------------------


async def test_deferred_writes_reach_the_handler_in_order(backend: FakeBackend) -> None:
    channel = backend.add("channels", {"name": "general"})
    message = backend.add("messages", {"channel": channel, "author": "a", "body": "b"})
    call = backend.invocation("mutation", "messages.js:like", {"id": message})
    call.defer_writes = True
    result = await backend.runtime.invoke(call, backend.handler("mutation"))
    assert result.ok and not result.deferred_write_failed, result.error_message
    assert [op for op, _ in backend.log] == ["1.0/get", "1.0/shallowMerge"]
    assert backend.docs[message]["likes"] == 1


async def test_a_failed_deferred_write_voids_the_call(backend: FakeBackend) -> None:
    channel = backend.add("channels", {"name": "general"})
    message = backend.add("messages", {"channel": channel, "author": "a", "body": "b"})
    handler = backend.handler("mutation")

    def refuse_patches(op: str, args: Any) -> Any:
        if op == "1.0/shallowMerge":
            raise BadRequest(f"no patching {args['id']}")
        return None

    handler.hook = refuse_patches
    call = backend.invocation("mutation", "messages.js:like", {"id": message})
    call.defer_writes = True
    result = await backend.runtime.invoke(call, handler)
    assert result.deferred_write_failed  # the function saw success: its outcome is void
    plain = await backend.runtime.invoke(
        backend.invocation("mutation", "messages.js:like", {"id": message}), handler
    )
    assert not plain.ok and not plain.deferred_write_failed
    assert f"no patching {message}" in (plain.error_message or "")


# -- reads made ahead (predicted, or a re-run's) -----------------------------------------


async def test_reads_made_ahead_answer_the_function_without_reaching_the_handler(
    backend: FakeBackend,
) -> None:
    channel = backend.add("channels", {"name": "general"})
    message = backend.add("messages", {"channel": channel, "author": "a", "body": "b"})
    assert await backend.value("mutation", "messages.js:like", {"id": message}) == 1
    get = next(args for op, args in backend.log if op == "1.0/get")
    backend.log.clear()
    # The host's answer wins: it is what this attempt's snapshot holds.
    call = backend.invocation("mutation", "messages.js:like", {"id": message})
    call.defer_writes = True
    call.read_ahead = [["1.0/get", get, {**backend.docs[message], "likes": 10.0}]]
    result = await backend.runtime.invoke(call, backend.handler("mutation"))
    assert result.ok and result.value_json == "11.0", (result.value_json, result.error_message)
    assert result.read_ahead_used == 1  # what the runner learns from
    assert [op for op, _ in backend.log] == ["1.0/shallowMerge"]

    # Not exactly the syscall the function makes (another id): the handler answers it.
    backend.log.clear()
    other = {**get, "id": backend.add("messages", {"channel": channel, "author": "c", "body": "d"})}
    call = backend.invocation("mutation", "messages.js:like", {"id": message})
    call.read_ahead = [["1.0/get", other, {**backend.docs[message], "likes": 50.0}]]
    result = await backend.runtime.invoke(call, backend.handler("mutation"))
    assert result.ok and result.value_json == "12.0", (result.value_json, result.error_message)
    assert result.read_ahead_used == 0
    assert [op for op, _ in backend.log] == ["1.0/get", "1.0/shallowMerge"]


async def test_a_write_ends_the_reads_made_ahead(backend: FakeBackend) -> None:
    channel = backend.add("channels", {"name": "general"})
    message = backend.add("messages", {"channel": channel, "author": "a", "body": "b"})
    assert await backend.value("mutation", "messages.js:like_and_reread", {"id": message}) == 1
    get = next(args for op, args in backend.log if op == "1.0/get")
    backend.log.clear()
    # A host that (wrongly) offered both reads: only the one before the write is used.
    stale = {**backend.docs[message], "likes": 10.0}
    call = backend.invocation("mutation", "messages.js:like_and_reread", {"id": message})
    call.defer_writes = True
    call.read_ahead = [["1.0/get", get, stale], ["1.0/get", get, stale]]
    result = await backend.runtime.invoke(call, backend.handler("mutation"))
    assert result.ok and result.value_json == "11.0", (result.value_json, result.error_message)
    assert [op for op, _ in backend.log] == ["1.0/shallowMerge", "1.0/get"]
