"""Bad input against the chat app in both languages: each request gets the official error
code and a message that says what is wrong, the server keeps serving, nothing is written.

Request-level failures are non-2xx `{code, message}`; failures of a function that was
found are HTTP 200 `{"status": "error", …}` (wire-protocol.md §1.4). "Nothing is written"
is checked with the deployment's latest timestamp (`/api/query_ts`), which only a commit
moves, and with the functions and data the clients see.
"""

from __future__ import annotations

import concurrent.futures
import gzip
import json
import uuid
from collections.abc import Iterator
from typing import Any

import brotli
import httpx
import pytest

from tests.compat.apps.conftest import ChatDeployment

pytestmark = pytest.mark.compat

JSON = {"Content-Type": "application/json"}
BODY_LIMIT = 16 * 1024 * 1024 + 2000


@pytest.fixture
def http(chat: ChatDeployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=chat.url, timeout=60) as client:
        yield client


def latest_ts(http: httpx.Client) -> str:
    response = http.post("/api/query_ts")
    assert response.status_code == 200
    ts: str = response.json()["ts"]
    return ts


def admin(chat: ChatDeployment, key: str | None = None) -> dict[str, str]:
    return {**JSON, "Authorization": f"Convex {key or chat.admin_key}"}


def request_error(response: httpx.Response, status: int, code: str) -> str:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    message: str = response.json()["message"]
    assert message
    return message


def function_error(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "error" and "errorData" not in body, body
    message: str = body["errorMessage"]
    assert message.startswith("[Request ID: ")
    return message


def still_serving(http: httpx.Client) -> None:
    response = http.post(
        "/api/query", headers=JSON, json={"path": "users:byEmail", "args": {"email": "x@y"}}
    )
    assert response.json() == {"status": "success", "value": None}


def send_args(chat: ChatDeployment) -> dict[str, Any]:
    """Arguments of a valid `messages:send` (a fresh user and channel)."""
    tag = f"bad-{chat.language}-{uuid.uuid4().hex[:8]}"
    user = chat.run("users:create", {"name": "Bad", "email": f"{tag}@bad.test"})
    channel = chat.run("channels:create", {"name": tag})
    return {"channel": channel, "author": user, "body": "hello"}


def test_malformed_bodies_get_bad_json_body(chat: ChatDeployment, http: httpx.Client) -> None:
    good = {"path": "messages:send", "args": send_args(chat)}
    before = latest_ts(http)
    message = request_error(
        http.post("/api/mutation", headers=JSON, content=b'{"path": "messages:send", "args": {'),
        400,
        "BadJsonBody",
    )
    assert "not valid JSON" in message
    no_type = http.post("/api/mutation", content=json.dumps(good).encode())
    assert "Content-Type: application/json" in request_error(no_type, 400, "BadJsonBody")
    not_object = http.post("/api/mutation", headers=JSON, content=b"[1, 2]")
    request_error(not_object, 400, "BadJsonBody")
    bad_args = http.post("/api/mutation", headers=JSON, json={**good, "args": [1, 2]})
    request_error(bad_args, 400, "BadJsonBody")
    bad_format = http.post("/api/mutation", headers=JSON, json={**good, "format": "xml"})
    request_error(bad_format, 400, "BadFormat")
    assert latest_ts(http) == before
    still_serving(http)


def test_oversized_body_is_refused(chat: ChatDeployment, http: httpx.Client) -> None:
    before = latest_ts(http)
    args = {**send_args(chat), "body": "x" * (BODY_LIMIT + 10)}
    before = latest_ts(http)
    response = http.post(
        "/api/mutation", headers=JSON, json={"path": "messages:send", "args": args}
    )
    message = request_error(response, 413, "BadJsonBody")
    assert "length limit exceeded" in message and str(BODY_LIMIT) in message
    assert latest_ts(http) == before
    still_serving(http)


def test_wrong_content_encoding_is_refused(chat: ChatDeployment, http: httpx.Client) -> None:
    body = json.dumps({"path": "messages:send", "args": send_args(chat)}).encode()
    before = latest_ts(http)
    garbage = http.post("/api/mutation", headers={**JSON, "Content-Encoding": "gzip"}, content=body)
    assert "gzip" in request_error(garbage, 400, "BadJsonBody")
    unknown = http.post("/api/mutation", headers={**JSON, "Content-Encoding": "zstd"}, content=body)
    assert "zstd" in request_error(unknown, 400, "BadJsonBody")
    assert latest_ts(http) == before
    # correctly compressed, the same body is accepted
    good = http.post(
        "/api/mutation",
        headers={**JSON, "Content-Encoding": "gzip"},
        content=gzip.compress(body),
    )
    assert good.json()["status"] == "success"


def test_unknown_paths_and_bad_arguments_are_function_errors(
    chat: ChatDeployment, http: httpx.Client
) -> None:
    args = send_args(chat)
    before = latest_ts(http)

    def call(kind: str, path: str, call_args: Any) -> httpx.Response:
        return http.post(f"/api/{kind}", headers=JSON, json={"path": path, "args": call_args})

    assert "Could not find public function for 'messages:nope'" in function_error(
        call("mutation", "messages:nope", args)
    )
    assert "Could not find public function for 'users:rename'" in function_error(
        call("mutation", "users:rename", {"id": args["author"], "name": "x"})
    )
    invalid = request_error(call("query", "messages::list", {}), 400, "BadConvexFunctionIdentifier")
    assert "messages::list" in invalid
    missing = function_error(call("mutation", "messages:send", {"channel": args["channel"]}))
    assert "ArgumentValidationError" in missing and "`author`" in missing
    wrong = function_error(call("mutation", "messages:send", {**args, "body": 5}))
    assert "ArgumentValidationError" in wrong and "Path: .body" in wrong
    swapped = function_error(call("mutation", "messages:send", {**args, "author": args["channel"]}))
    assert "from table `channels`" in swapped and 'v.id("users")' in swapped
    garbage_id = function_error(call("mutation", "messages:like", {"id": "not-an-id"}))
    assert "ArgumentValidationError" in garbage_id and "Path: .id" in garbage_id
    assert latest_ts(http) == before
    still_serving(http)


def test_admin_endpoints_refuse_missing_and_forged_keys(
    chat: ChatDeployment, http: httpx.Client
) -> None:
    before = latest_ts(http)
    change = {"changes": [{"name": "HACKED", "value": "1"}]}
    missing = http.post("/api/update_environment_variables", headers=JSON, json=change)
    assert "admin key" in request_error(missing, 403, "BadDeployKey")
    forged_key = "convex-self-hosted|" + "0" * 96
    forged = http.post(
        "/api/update_environment_variables", headers=admin(chat, forged_key), json=change
    )
    request_error(forged, 401, "BadAdminKey")
    other_instance = chat.admin_key.replace("convex-self-hosted|", "another-instance|", 1)
    renamed = http.post(
        "/api/update_environment_variables", headers=admin(chat, other_instance), json=change
    )
    assert "instance" in request_error(renamed, 401, "BadAdminKey")
    header = http.post(
        "/api/update_environment_variables",
        headers={**JSON, "Authorization": "Basic dXNlcjpwYXNz"},
        json=change,
    )
    request_error(header, 400, "InvalidAdminKey")
    run = http.post("/api/function", headers=JSON, json={"path": "users:list", "args": {}})
    request_error(run, 403, "BadDeployKey")
    push = http.post("/api/deploy2/start_push", headers=admin(chat, forged_key), json={})
    request_error(push, 401, "BadAdminKey")
    logs = http.get("/api/stream_function_logs?cursor=0")
    request_error(logs, 403, "BadDeployKey")
    assert latest_ts(http) == before
    assert chat.run("diagnostics:setting", {"name": "HACKED"}) is None


def test_runaway_query_is_stopped_while_other_calls_are_served(
    chat: ChatDeployment, http: httpx.Client
) -> None:
    def spin() -> httpx.Response:
        with httpx.Client(base_url=chat.url, timeout=60) as own:
            return own.post(
                "/api/query", headers=JSON, json={"path": "diagnostics:spin", "args": {}}
            )

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        spinning = pool.submit(spin)
        served_meanwhile = 0
        while not spinning.done():
            still_serving(http)
            served_meanwhile += 0 if spinning.done() else 1
        message = function_error(spinning.result())
    assert "timed out" in message
    assert served_meanwhile > 0
    still_serving(http)
    # the runtime recovered: the same query runs (and is stopped) again
    assert "timed out" in function_error(
        http.post("/api/query", headers=JSON, json={"path": "diagnostics:spin", "args": {}})
    )


BROKEN = {
    "ts": ("broken.js", "export const oops = ;\n", "isolate"),
    "py": ("broken.py", "from bayou import query\n\ndef oops(ctx:\n    return 1\n", "python"),
}


def test_push_of_a_module_that_cannot_be_parsed_changes_nothing(
    chat: ChatDeployment, http: httpx.Client
) -> None:
    headers = admin(chat)
    stored = http.post(
        "/api/get_config_hashes", headers=headers, json={"version": "1.48.0", "adminKey": ""}
    ).json()["moduleHashes"]
    path, source, environment = BROKEN[chat.language]
    request = {
        "adminKey": chat.admin_key,
        "dryRun": False,
        "functions": "convex/",
        "appDefinition": {
            "definition": None,
            "dependencies": [],
            "schema": None,
            "changedModules": [{"path": path, "source": source, "environment": environment}],
            "unchangedModuleHashes": [
                {"path": m["path"], "environment": m["environment"], "sha256": m["hash"]}
                for m in stored
            ],
            "udfServerVersion": "1.48.0",
        },
        "componentDefinitions": [],
        "nodeDependencies": [],
    }
    spec_before = chat.bayou("function-spec").stdout
    response = http.post(
        "/api/deploy2/start_push",
        headers={**headers, "Content-Encoding": "br"},
        content=brotli.compress(json.dumps(request).encode()),
    )
    message = request_error(response, 400, "InvalidModules")
    assert path in message and "SyntaxError" in message
    assert chat.bayou("function-spec").stdout == spec_before
    assert (
        http.post(
            "/api/get_config_hashes", headers=headers, json={"version": "1.48.0", "adminKey": ""}
        ).json()["moduleHashes"]
        == stored
    )
    still_serving(http)
