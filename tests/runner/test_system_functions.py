"""`_system/cli/*`: the CLI's system queries, served in Python, reactive like user queries."""

from __future__ import annotations

from typing import Any

from bayou.backend import Backend
from bayou.protocol.function_path import FunctionPath
from bayou.runner.function_runner import CallRequest, CallResult
from bayou.runner.identity import ANONYMOUS, Identity

ADMIN = Identity(kind="admin")


async def call(
    backend: Backend,
    path: str,
    args: dict[str, Any] | None = None,
    identity: Identity = ADMIN,
    kind: Any = "query",
) -> CallResult:
    assert backend.runner is not None
    return await backend.runner.call(
        CallRequest(FunctionPath.parse(path), args or {}, kind, identity)
    )


async def run(backend: Backend, path: str, args: dict[str, Any] | None = None) -> Any:
    result = await call(backend, path, args)
    assert result.ok, result.error_message
    return result.value


async def send(backend: Backend, table: str, value: dict[str, Any]) -> None:
    assert backend.db is not None
    tx = backend.db.begin()
    await tx.insert(table, value)
    await backend.db.commit(tx)


def still_valid(backend: Backend, result: CallResult) -> bool:
    assert backend.db is not None and result.read_set is not None and result.ts is not None
    return backend.db.write_log.is_valid(result.read_set, result.ts, backend.db.latest_ts)


async def test_env_list_returns_variable_documents_sorted_by_name(backend: Backend) -> None:
    assert await run(backend, "_system/cli/queryEnvironmentVariables") == []
    await backend.update_environment([("ZED", "z"), ("ALPHA", "a")])
    listed = await run(backend, "_system/cli/queryEnvironmentVariables")
    assert [(v["name"], v["value"]) for v in listed] == [("ALPHA", "a"), ("ZED", "z")]
    assert all(isinstance(v["_creationTime"], float) and isinstance(v["_id"], str) for v in listed)


async def test_env_get_returns_name_and_value_or_null(backend: Backend) -> None:
    await backend.update_environment([("KEY", "v")])
    assert await run(backend, "_system/cli/queryEnvironmentVariables:get", {"name": "KEY"}) == {
        "name": "KEY",
        "value": "v",
    }
    assert await run(backend, "_system/cli/queryEnvironmentVariables:get", {"name": "NOPE"}) is None


async def test_env_queries_are_invalidated_by_env_changes(backend: Backend) -> None:
    result = await call(backend, "_system/cli/queryEnvironmentVariables:get", {"name": "KEY"})
    assert result.ok, result.error_message
    assert still_valid(backend, result)
    await backend.update_environment([("KEY", "new")])
    assert not still_valid(backend, result)


async def test_tables_lists_user_tables_as_one_page(backend: Backend) -> None:
    empty = await run(
        backend, "_system/cli/tables", {"paginationOpts": {"cursor": None, "numItems": 10000.0}}
    )
    assert empty == {"page": [], "isDone": True, "continueCursor": "end"}
    before = await call(backend, "_system/cli/tables")
    await send(backend, "messages", {"body": "x"})
    await send(backend, "authors", {"name": "y"})
    assert not still_valid(backend, before)
    listed = await run(
        backend, "_system/cli/tables", {"paginationOpts": {"cursor": None, "numItems": 10000.0}}
    )
    assert listed == {
        "page": [{"name": "authors"}, {"name": "messages"}],
        "isDone": True,
        "continueCursor": "end",
    }


async def test_table_data_pages_documents_in_either_order(backend: Backend) -> None:
    for i in range(5):
        await send(backend, "messages", {"body": str(i)})
    desc = await run(
        backend,
        "_system/cli/tableData",
        {"table": "messages", "order": "desc", "paginationOpts": {"cursor": None, "numItems": 3.0}},
    )
    assert [d["body"] for d in desc["page"]] == ["4", "3", "2"]
    assert desc["isDone"] is False
    rest = await run(
        backend,
        "_system/cli/tableData",
        {
            "table": "messages",
            "order": "desc",
            "paginationOpts": {"cursor": desc["continueCursor"], "numItems": 3.0},
        },
    )
    assert [d["body"] for d in rest["page"]] == ["1", "0"] and rest["isDone"] is True
    missing = await run(
        backend,
        "_system/cli/tableData",
        {"table": "nothing", "order": "asc", "paginationOpts": {"cursor": None, "numItems": 3.0}},
    )
    assert missing["page"] == [] and missing["isDone"] is True


async def test_table_size_counts_documents(backend: Backend) -> None:
    assert await run(backend, "_system/cli/tableSize:default", {"tableName": "messages"}) == 0.0
    await send(backend, "messages", {"body": "a"})
    await send(backend, "messages", {"body": "b"})
    assert await run(backend, "_system/cli/tableSize", {"tableName": "messages"}) == 2.0


async def test_api_spec_describes_every_function(backend: Backend) -> None:
    spec = await run(backend, "_system/cli/modules:apiSpec")
    by_id = {f["identifier"]: f for f in spec}
    assert by_id["messages.js:send"] == {
        "identifier": "messages.js:send",
        "functionType": "Mutation",
        "visibility": {"kind": "public"},
        "args": {"type": "any"},
        "returns": {"type": "any"},
    }
    assert by_id["secret.js:internalList"]["visibility"] == {"kind": "internal"}
    assert by_id["actions.js:echo"]["functionType"] == "Action"


async def test_cloud_url_is_the_public_api_origin(backend: Backend) -> None:
    assert await run(backend, "_system/cli/convexUrl:cloudUrl") == "http://bayou.test:4321"


async def test_system_functions_need_an_admin(backend: Backend) -> None:
    result = await call(backend, "_system/cli/tables", identity=ANONYMOUS)
    assert not result.ok and "only an admin key" in (result.error_message or "")


async def test_unknown_system_paths_fail_clearly(backend: Backend) -> None:
    result = await call(backend, "_system/cli/nothingHere")
    assert not result.ok
    assert "Unknown system function '_system/cli/nothingHere'" in (result.error_message or "")
    assert "_system/cli/tables" in (result.error_message or "")


async def test_system_functions_are_queries(backend: Backend) -> None:
    result = await call(backend, "_system/cli/tables", kind="mutation")
    assert not result.ok and "defined as Query" in (result.error_message or "")


async def test_bad_arguments_are_reported(backend: Backend) -> None:
    result = await call(backend, "_system/cli/tableData", {"table": 5, "order": "asc"})
    assert not result.ok and "`table` must be a string" in (result.error_message or "")
    result = await call(backend, "_system/cli/tableData", {"table": "t", "order": "sideways"})
    assert not result.ok and "order" in (result.error_message or "")
