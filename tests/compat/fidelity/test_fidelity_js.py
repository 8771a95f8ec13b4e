"""Convex's behaviour, exactly, where apps and users see it (JavaScript functions).

Each test drives the official tools — `npx convex deploy/run`, the npm `ConvexHttpClient`
and `ConvexClient` — against a real `bayou serve`, and pins what the official backend
does: error texts (nested calls, missing functions, staged indexes, stack frames), system
tables through `ctx.db.system`, the deployment's URLs and variables in `process.env` (also
while a push analyzes modules), request metadata, audit logs, and `"use node"` actions.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.apps.clients import DriverClient, npm_client
from tests.compat.conftest import BayouServer, ConvexApp, app_copy, start_server
from tests.compat.node_client import NodeClient

pytestmark = pytest.mark.compat

HERE = Path(__file__).parent
APP = HERE / "app"
ERRORS_TS = (APP / "convex" / "errors.ts").read_text().splitlines()


def line_of(text: str) -> int:
    """The 1-based line of errors.ts holding `text`."""
    return next(number for number, line in enumerate(ERRORS_TS, 1) if text in line)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, node: str, js_dir: Path) -> Iterator[ConvexApp]:
    base = tmp_path_factory.mktemp("fidelity")
    server = start_server(base / "data")
    try:
        deployed = app_copy(APP, base, server, node, js_dir)
        # A variable read by a module's top level: set before the push that analyzes it.
        deployed.cli("env", "set", "FIDELITY_GREETING", "bonjour")
        yield deployed.deploy()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(app: ConvexApp, node: str, js_dir: Path) -> Iterator[DriverClient]:
    """The npm ConvexHttpClient, as an admin (internal functions allowed)."""
    with npm_client(node, js_dir, app.server.url, "http", app.server.admin_key) as c:
        yield c


# -- identity in the shared query cache --------------------------------------------------


async def test_identities_differing_only_in_claims_get_their_own_results(
    app: ConvexApp, node: str, js_dir: Path
) -> None:
    alice = {"subject": "s", "issuer": "i", "name": "Alice"}
    bob = {"subject": "s", "issuer": "i", "name": "Bob"}
    url, key = app.server.url, app.server.admin_key
    async with NodeClient.start(node, js_dir, url) as first:
        first.admin_auth(key, alice)
        first.subscribe("me", "platform:whoName")
        assert await first.update_until("me", lambda v: v is not None) == "Alice"
        async with NodeClient.start(node, js_dir, url) as second:
            second.admin_auth(key, bob)
            second.subscribe("me", "platform:whoName")
            assert await second.update_until("me", lambda v: v is not None) == "Bob"


async def test_a_query_that_timed_out_is_not_cached_and_recovers(
    app: ConvexApp, node: str, js_dir: Path
) -> None:
    until = time.time() * 1000 + 2500
    async with NodeClient.start(node, js_dir, app.server.url) as first:
        first.subscribe("q", "platform:spinUntil", {"until": until})
        failed = await first.next_event(lambda e: e.get("id") == "q")
        assert failed["event"] == "queryError" and "timed out" in failed["message"]
        # Re-run on its own (no write touches it), until it answers.
        assert await first.update_until("q", lambda v: v == "recovered", 30) == "recovered"
        async with NodeClient.start(node, js_dir, app.server.url) as later:
            later.subscribe("q", "platform:spinUntil", {"until": until})
            assert await later.update("q") == "recovered"


# -- system tables -------------------------------------------------------------------


def test_db_system_reads_system_tables_and_refuses_user_ids(client: DriverClient) -> None:
    assert client.value("query", "platform:scheduledCount") == 0
    note = client.value("mutation", "platform:insertNote", {"body": "user row"})
    error = client.error("query", "platform:systemGet", {"id": note})
    assert "User tables cannot be accessed with db.system." in error


def test_db_system_hides_bayous_own_tables(client: DriverClient) -> None:
    error = client.error("query", "platform:readSystemTable", {"table": "_environment_variables"})
    assert "cannot be read by functions" in error


# -- the deployment's URLs and variables ------------------------------------------------


def test_functions_see_the_deployment_urls(app: ConvexApp, client: DriverClient) -> None:
    expected = [app.server.url, app.server.site_url]
    assert client.value("query", "platform:urls") == expected
    assert client.value("action", "platform:urlsInAction") == expected
    node_env = client.value("action", "nodeFidelity:environment")
    assert [node_env["cloudUrl"], node_env["siteUrl"]] == expected


def test_module_top_levels_see_variables_set_before_the_push(client: DriverClient) -> None:
    assert client.value("query", "platform:greetingAtImport") == "bonjour"


def test_the_server_log_records_each_push(app: ConvexApp) -> None:
    log = app.server.log_tail(50000)
    assert re.search(r"INFO bayou\.deploy\.push: deployed \w+ \(\d+ modules; modules added: ", log)
    assert "indexes added: notes.by_body" in log, log


def test_node_actions_may_write_process_env_and_find_dirname(client: DriverClient) -> None:
    # The module deletes DEBUG and sets a variable at import (during the push as well).
    got = client.value("action", "nodeFidelity:environment")
    assert got["written"] == "written"
    assert got["dirname"] == "string" and got["filename"] == "string"


# -- "use node" actions ------------------------------------------------------------------


def test_an_exception_in_a_node_callback_fails_the_call_at_once(app: ConvexApp) -> None:
    failed = app.cli("run", "nodeFidelity:yikes", check=False, timeout=60)
    assert failed.returncode != 0
    assert "Uncaught uncaughtException: Yikes" in failed.stderr, failed.stderr
    # The worker survived: the next Node action runs.
    assert json.loads(app.cli("run", "nodeFidelity:fine").stdout) == "still serving"


def test_node_console_timers_are_formatted_as_node_does(app: ConvexApp) -> None:
    out = app.cli("run", "nodeFidelity:timers")
    logs = out.stdout + out.stderr
    assert re.search(r"'t: \d+ms' 'extra'", logs), logs
    assert re.search(r"'t: \d+ms'", logs), logs
    assert "\"Timer 't' does not exist\"" in logs, logs


# -- errors of nested calls ------------------------------------------------------------


def test_an_error_thrown_in_a_nested_query_reaches_the_action_as_an_error(
    client: DriverClient,
) -> None:
    caught = client.value("action", "errors:catchBoom", {"which": "query"})
    boom = line_of('throw new Error("boom")')
    assert caught["isConvexError"] is False
    assert re.fullmatch(
        rf"Uncaught Error: boom\n    at handler \(\.\./convex/errors\.ts:{boom}:\d+\)\n",
        caught["message"],
    ), caught["message"]


def test_an_uncaught_nested_error_is_wrapped_as_convex_wraps_it(client: DriverClient) -> None:
    error = client.error("action", "errors:callBoom")
    boom = line_of('throw new Error("boom")')
    call = line_of("await ctx.runQuery(api.errors.boom)")
    assert re.search(
        r"Uncaught Error: Uncaught Error: boom\n"
        rf"    at handler \(\.\./convex/errors\.ts:{boom}:\d+\)\n\n"
        rf"    at async handler \(\.\./convex/errors\.ts:{call}:\d+\)\n",
        error,
    ), error


def test_a_nested_convex_error_keeps_its_data_and_renders_bigints_as_convex_does(
    client: DriverClient,
) -> None:
    caught = client.value("action", "errors:catchBoom", {"which": "convexQuery"})
    assert caught["isConvexError"] is True
    assert caught["message"].startswith('Uncaught ConvexError: {"code":42,"big":"123n"}\n')
    assert caught["data"] == {"code": 42, "big": {"$integer": "ewAAAAAAAAA="}}
    out = client.call("action", "errors:callConvexBoom", {})
    assert 'Uncaught ConvexError: Uncaught ConvexError: {"code":42,"big":"123n"}' in out["error"]
    assert out["data"] == {"code": 42, "big": {"$integer": "ewAAAAAAAAA="}}


def test_nested_mutation_and_action_errors_keep_their_messages(client: DriverClient) -> None:
    from_action = client.value("action", "errors:catchBoom", {"which": "mutation"})
    assert from_action["message"].startswith("Uncaught Error: mutation boom\n")
    nested_action = client.value("action", "errors:catchBoom", {"which": "action"})
    assert nested_action["message"].startswith("Uncaught Error: Uncaught Error: boom\n")
    in_mutation = client.value("mutation", "errors:catchInMutation", {"which": "mutation"})
    assert in_mutation["isConvexError"] is False
    assert in_mutation["message"].startswith("Uncaught Error: mutation boom\n")
    convex = client.value("mutation", "errors:catchInMutation", {"which": "convexQuery"})
    assert convex["isConvexError"] is True and convex["data"]["code"] == 42


def test_calling_a_missing_function_says_so_as_convex_does(client: DriverClient) -> None:
    from_action = client.value("action", "errors:catchBoom", {"which": "missing"})
    assert from_action == {
        "isConvexError": False,
        "message": "Couldn't resolve api.nope.nope",
        "data": None,
    }
    from_mutation = client.value("mutation", "errors:catchInMutation", {"which": "missing"})
    assert from_mutation["isConvexError"] is False
    assert from_mutation["message"].startswith("Could not find public function for 'nope:nope'.")
    top = client.error("query", "nope:nope")
    assert (
        "Could not find public function for 'nope:nope'. Did you forget to run `npx convex dev`?"
        in top
    )


# -- error texts ---------------------------------------------------------------------------


def test_anonymous_functions_appear_as_anonymous_frames(client: DriverClient) -> None:
    error = client.error("query", "errors:anonymousBoom")
    anon = line_of('throw new Error("anon")')
    assert f"    at <anonymous> (../convex/errors.ts:{anon}:" in error, error
    assert "    at handler (../convex/errors.ts:" in error, error


def test_a_staged_index_is_refused_in_convex_words(client: DriverClient) -> None:
    error = client.error("query", "errors:staged")
    assert (
        "Index notes.by_n is currently staged and not available to query until it is enabled."
        in error
    )


def test_action_time_outs_are_worded_per_runtime(tmp_path: Path, node: str, js_dir: Path) -> None:
    server = start_server(tmp_path / "data", env={"BAYOU_ACTION_TIMEOUT": "1"})
    try:
        app = app_copy(APP, tmp_path, server, node, js_dir).deploy()
        in_node = app.cli("run", "nodeFidelity:sleepy", check=False, timeout=60)
        assert "Action `sleepy` execution timed out (maximum duration 1s)" in in_node.stderr
        isolate = app.cli("run", "platform:sleepy", check=False, timeout=60)
        assert "Function execution timed out (maximum duration: 1s)" in isolate.stderr
    finally:
        server.stop()


# -- request metadata and audit logs -----------------------------------------------------


def test_mutations_get_request_metadata(client: DriverClient) -> None:
    meta = client.value("mutation", "platform:requestMetadata")
    assert set(meta) == {"ip", "userAgent", "requestId", "scheduledFunctionId", "authToken"}
    assert meta["ip"] == "127.0.0.1"
    assert meta["requestId"] and meta["scheduledFunctionId"] is None
    assert meta["authToken"] is None  # an admin key is never handed to functions


def test_audit_logs_from_mutations_and_their_refusal_in_actions(
    app: ConvexApp, client: DriverClient
) -> None:
    assert client.value("mutation", "platform:audited", {"what": "rotate-keys"}) == "logged"
    log = app.server.log_tail(20000)
    assert '"action":"rotate-keys"' in log and "bayou.audit" in log
    error = client.error("action", "platform:auditedInAction")
    assert "Audit logging is not yet supported in actions" in error


def test_commit_ts_placeholder_becomes_the_commit_timestamp(client: DriverClient) -> None:
    stamped = client.value("mutation", "platform:stampNote")
    assert stamped["foundPending"] == [stamped["id"]]  # eq(commitTs) finds its own row
    ts = stamped["ts"]
    assert set(ts) == {"$integer"}  # an Int64 (bigint), resolved at commit
    note = client.value("query", "platform:getNote", {"id": stamped["id"]})
    assert note["stamp"] == ts


# -- auth.config with the deployment's variables -------------------------------------------


def test_auth_config_reads_the_deployments_variables(
    bayou_server: BayouServer, node: str, js_dir: Path, tmp_path: Path
) -> None:
    app = app_copy(HERE / "auth_app", tmp_path, bayou_server, node, js_dir)
    missing = app.cli("deploy", "--typecheck", "disable", "-y", check=False)
    assert missing.returncode != 0
    assert "Environment variable FIDELITY_ISSUER is used in auth config file" in missing.stderr
    assert "npx convex env set" in missing.stderr  # the CLI recognised Convex's error code
    app.cli("env", "set", "FIDELITY_ISSUER", "https://issuer.fidelity.test")
    # A customJwt provider without applicationID deploys (the CLI requires the key).
    deployed = app.cli("deploy", "--typecheck", "disable", "-y")
    assert "ZodError" not in deployed.stderr
    assert json.loads(app.cli("run", "hello:hello").stdout) == "hello"


def test_external_packages_are_refused_naming_them(
    bayou_server: BayouServer, node: str, js_dir: Path, tmp_path: Path
) -> None:
    app = app_copy(HERE / "external_app", tmp_path, bayou_server, node, js_dir)
    refused = app.cli("deploy", "--typecheck", "disable", "-y", check=False)
    assert refused.returncode != 0
    assert "node.externalPackages in convex.json): ws@" in refused.stderr, refused.stderr
    assert "remove them from externalPackages" in refused.stderr


# -- deferred writes: a failed write throws where Convex throws it -----------------------


def test_a_failed_deferred_write_is_caught_by_the_user_code_that_awaited_it(
    client: DriverClient,
) -> None:
    caught = client.value("mutation", "writes:catchFailedPatch", {"tag": "js-caught"})
    assert " on nonexistent document ID " in caught, caught
    # The attempt that went on past the failed write left nothing: one "after", once.
    assert client.value("query", "writes:countBody", {"body": "js-caught-after"}) == 1
    assert client.value("query", "writes:countBody", {"body": "js-caught-gone"}) == 0
    assert client.value("query", "writes:countBody", {"body": "js-caught-patched"}) == 0


def test_a_deferred_write_breaking_the_schema_fails_as_before(client: DriverClient) -> None:
    error = client.error("mutation", "writes:badPatch", {"tag": "js-bad"})
    # Word for word what the same patch gave before writes were deferred.
    assert error.endswith(
        "Server Error\nUncaught Error: Failed to insert or update a document in table 'notes' "
        "because it does not match the schema: Value does not match validator.\nPath: .body\n"
        "Value: 5.0\nValidator: v.string()\n"
    ), error
    for body in ("js-bad-bad", "js-bad-never"):
        assert client.value("query", "writes:countBody", {"body": body}) == 0


def test_deferred_writes_are_read_back_by_their_own_mutation(client: DriverClient) -> None:
    got = client.value("mutation", "writes:patchAndRead", {"tag": "js-read"})
    assert got == {"body": "js-read-1", "n": 2}
