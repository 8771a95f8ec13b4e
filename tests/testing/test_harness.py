"""`bayou.testing`: the `convex` fixture runs functions on a real backend of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayou import api, internal
from bayou.testing import ConvexTest, FunctionError, Harness, SeedError
from tests.testing.conftest import APP


def test_each_test_gets_an_empty_database(convex: ConvexTest) -> None:
    assert convex.query(api.notes.texts) == []
    convex.mutation(api.notes.add, {"text": "mine"})
    assert convex.query(api.notes.texts) == ["mine"]


def test_and_the_next_one_too(convex: ConvexTest) -> None:
    assert convex.query(api.notes.texts) == []


def test_references_paths_and_functions_all_work(convex: ConvexTest) -> None:
    convex.mutation("notes:add", {"text": "by path"})
    convex.mutation(api.notes.add, {"text": "by reference"})
    assert convex.query("notes:texts") == ["by path", "by reference"]


def test_the_clock_is_frozen_until_advanced_in_every_kind_of_function(
    convex: ConvexTest,
) -> None:
    start = convex.now.timestamp()
    seen = convex.query(api.notes.clock)
    assert seen == {"time": pytest.approx(start, abs=1e-3), "now": pytest.approx(start, abs=1e-3)}
    assert convex.action(api.notes.action_clock) == seen["time"]
    convex.advance(hours=2)
    assert convex.query(api.notes.clock)["time"] == seen["time"] + 7200
    assert convex.action(api.notes.action_clock) == seen["time"] + 7200


def test_scheduled_functions_run_when_the_clock_reaches_them(convex: ConvexTest) -> None:
    convex.mutation(api.notes.later, {"seconds": 30, "text": "soon"})
    convex.mutation(api.notes.later, {"seconds": 3600, "text": "later"})
    assert convex.run_scheduled() == 0
    assert convex.advance(seconds=30) == 1
    assert convex.query(api.notes.texts) == ["soon"]
    assert convex.finish_scheduled() == 1
    assert convex.query(api.notes.texts) == ["soon", "later"]
    states = [job["state"]["kind"] for job in convex.table("_scheduled_functions")]
    assert states == ["success", "success"]


def test_a_user_identity_reaches_ctx_auth(convex: ConvexTest) -> None:
    assert convex.query(api.notes.who) is None
    identity = convex.as_user("ada", name="Ada", email="ada@example.com").query(api.notes.who)
    assert identity == {
        "subject": "ada",
        "issuer": "https://convex.test",
        "tokenIdentifier": "https://convex.test|ada",
        "name": "Ada",
        "email": "ada@example.com",
    }


def test_environment_variables_reach_os_environ(convex: ConvexTest) -> None:
    assert convex.query(api.notes.env, {"name": "GREETING"}) is None
    convex.set_env({"GREETING": "hello"})
    assert convex.query(api.notes.env, {"name": "GREETING"}) == "hello"


def test_seeding_checks_the_schema_and_says_which_document(convex: ConvexTest) -> None:
    ids = convex.seed({"notes": [{"text": "a"}, {"text": "b", "stars": 2}]})
    assert [convex.get(i)["text"] for i in ids["notes"]] == ["a", "b"]  # type: ignore[index]
    with pytest.raises(SeedError) as error:
        convex.seed({"notes": [{"text": "ok"}, {"text": 5}]})
    assert "notes[1]" in str(error.value) and "does not match the schema" in str(error.value)
    assert len(convex.table("notes")) == 2  # the whole seed was refused


def test_logs_are_collected_per_call(convex: ConvexTest) -> None:
    convex.mutation(api.notes.add, {"text": "one"})
    assert [(line.function, line.level, line.message) for line in convex.logs] == [
        ("notes:add", "LOG", "adding one")
    ]
    convex.clear_logs()
    assert convex.logs == []


def test_urllib_requests_go_to_the_stubs(convex: ConvexTest) -> None:
    convex.stub_fetch("https://api.example.com/ping", body="pong", status=202)
    result = convex.action(api.notes.fetch_urllib, {"url": "https://api.example.com/ping"})
    assert result == {"status": 202, "body": "pong"}
    (request,) = convex.fetches
    assert (request.method, request.url, request.body) == (
        "POST",
        "https://api.example.com/ping",
        b"ping",
    )
    assert request.headers["x-test"] == "1"


def test_httpx_requests_go_to_the_stubs_sync_and_async(convex: ConvexTest) -> None:
    convex.stub_fetch("https://api.example.com/*", json={"ok": True})
    convex.stub_fetch(lambda request: {"echo": request.json()}, method="PUT")
    result = convex.action(api.notes.fetch_httpx, {"url": "https://api.example.com/x"})
    assert result == {"status": 200, "json": {"ok": True}}
    assert convex.fetches[0].url == "https://api.example.com/x?q=x"
    assert convex.action(api.notes.fetch_async, {"url": "https://other.example.com/"}) == 200
    assert convex.query(api.notes.texts) == ['{"echo": {"a": 1}}']
    assert convex.log_messages("WARN") == ["fetched https://other.example.com/"]


def test_an_unstubbed_request_fails_the_action_naming_it(convex: ConvexTest) -> None:
    with pytest.raises(FunctionError) as error:
        convex.action(api.notes.fetch_httpx, {"url": "https://nowhere.example.com/"})
    assert "No stub answers GET https://nowhere.example.com/?q=x" in error.value.message
    assert 'File "notes.py"' in error.value.message


def test_a_function_without_a_decorator_is_named_with_its_line(convex: ConvexTest) -> None:
    with pytest.raises(FunctionError) as error:
        convex.mutation("notes:undecorated", {"text": "x"})
    message = error.value.message
    assert "Could not find public function for 'notes:undecorated'" in message
    assert "convex/notes.py:85 defines `undecorated` without a decorator" in message


def test_internal_functions_are_refused_to_clients_only(convex: ConvexTest) -> None:
    convex.mutation(internal.notes.clear)
    with pytest.raises(FunctionError, match="Could not find public function"):
        convex.as_client().mutation(internal.notes.clear)


def test_http_actions_answer_requests(convex: ConvexTest) -> None:
    response = convex.fetch("/roundtrip", method="POST", json={"n": 1, "x": 2.5})
    assert response.status == 200
    assert response.json()["sent"] == {"n": "int", "x": "float"}


def test_the_harness_works_outside_pytest(tmp_path: Path) -> None:
    with Harness() as harness:
        convex = harness.open(APP)
        assert convex.mutation(api.notes.add, {"text": "x"}).startswith("")
        assert convex.query(api.notes.texts) == ["x"]
