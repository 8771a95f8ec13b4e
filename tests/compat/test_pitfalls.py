"""The ten compatibility pitfalls of wire-protocol.md §7, each pinned by a test.

Most are properties of the sync socket and are tested at the protocol level, against a
real server with a hand-written client that sees every byte (tests/sync), and again
end to end with the official clients:

 1. mutation reflection   tests/sync/test_session.py::test_mutation_response_precedes_a_transition_reflecting_it,
                          ::test_a_mutation_touching_no_subscription_still_gets_a_covering_transition;
                          tests/sync/test_official_clients.py::test_npm_client_mutation_resolves_after_its_effects_are_visible
 2. version chaining      tests/sync/test_session.py::test_transitions_chain_versions_and_never_go_back_in_time
                          (and every RawClient read asserts the chain)
 3. auth confirmation     tests/sync/test_session.py::test_admin_authentication_is_confirmed_by_a_transition_bumping_identity,
                          ::test_a_bad_admin_key_gets_an_auth_error_and_a_close_not_a_fatal_error
 4. JSON heartbeats       tests/sync/test_session.py::test_an_idle_session_receives_json_pings
 5. number encoding       tests/sync/test_session.py::test_values_use_convex_json_encoding,
                          ::test_int64_arguments_arrive_as_int64
 6. presence-sensitive    tests/sync/test_session.py::test_presence_sensitive_fields_of_failures;
                          tests/protocol/test_sync_messages.py
 7. FatalError terminal   tests/sync/test_session.py::test_function_errors_do_not_end_the_session,
                          ::test_a_client_ahead_of_the_server_is_refused_with_1011; tests/sync/test_bad_input.py
 8. idempotent replays    tests/sync/test_session.py::test_a_resent_mutation_after_reconnect_runs_once_and_replays_its_ts;
                          tests/runner/test_session_mutations.py
 9. path/version forms    tests/sync/test_session.py::test_the_socket_answers_on_every_path_form,
                          ::test_function_path_forms_name_the_same_query
10. HTTP envelope         below

This module adds the end-to-end checks against `bayou serve` with the deployed test app.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import ConvexApp
from tests.compat.node_client import NodeClient

pytestmark = pytest.mark.compat


def post(url: str, body: Any, content_type: str = "application/json") -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_pitfall_10_a_function_that_ran_answers_200_and_request_errors_are_non_2xx(
    convex_app: ConvexApp,
) -> None:
    url = convex_app.server.url
    ok_status, ok = post(f"{url}/api/query", {"path": "messages:count", "args": {}})
    assert ok_status == 200 and ok["status"] == "success"
    thrown_status, thrown = post(f"{url}/api/mutation", {"path": "messages:failWith", "args": [{}]})
    assert thrown_status == 200 and thrown["status"] == "error"
    assert "plain failure" in thrown["errorMessage"] and "errorData" not in thrown
    data_status, data = post(
        f"{url}/api/mutation",
        {"path": "messages:failWith", "args": {"convex": True}, "format": "convex_encoded_json"},
    )
    assert data_status == 200 and data["errorData"] == {"code": "NOPE"}
    bad_status, bad = post(f"{url}/api/query", {"path": "not a path!", "args": {}})
    assert 400 <= bad_status < 500 and set(bad) == {"code", "message"}


async def test_pitfall_1_npm_mutation_resolves_with_its_effects_visible(
    convex_app: ConvexApp, node: str, js_dir: Path
) -> None:
    async with NodeClient.start(node, js_dir, convex_app.server.url) as client:
        client.subscribe("count", "messages:count")
        before = await client.update("count")
        await client.mutation("messages:send", {"body": "reflected"})
        # The mutation's promise resolved only after a transition covering it: the
        # subscription's newest value (already delivered) counts the new message.
        values = [e["value"] for e in client.events if e.get("id") == "count"]
        assert values[-1] == before + 1


async def test_pitfall_3_npm_admin_auth_is_confirmed_and_queries_rerun_as_the_user(
    convex_app: ConvexApp, node: str, js_dir: Path
) -> None:
    async with NodeClient.start(node, js_dir, convex_app.server.url) as client:
        client.subscribe("me", "users:whoami")
        assert await client.update("me") is None
        client.admin_auth(
            convex_app.server.admin_key,
            {
                "subject": "u9",
                "issuer": "https://issuer.test",
                "tokenIdentifier": "https://issuer.test|u9",
            },
        )
        assert await client.update("me") == "https://issuer.test|u9"
