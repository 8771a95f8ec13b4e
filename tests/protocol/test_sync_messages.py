"""Parsing of client messages and building of server messages (wire-protocol.md §2.3-2.4)."""

from __future__ import annotations

import orjson
import pytest

from bayou.protocol import sync_messages as msg
from bayou.protocol.sync_messages import ProtocolError, StateVersion


def parse(obj: object) -> msg.ClientMessage:
    return msg.parse_client_message(orjson.dumps(obj))


def test_timestamps_are_padded_base64_of_little_endian_u64() -> None:
    assert msg.encode_ts(0) == "AAAAAAAAAAA="
    assert msg.encode_ts(1760000000123456789) == "Fc0L3KzGbBg="
    assert msg.decode_ts("Fc0L3KzGbBg=") == 1760000000123456789


@pytest.mark.parametrize("bad", ["AAAA", "not base64!", 5, None, "AAAAAAAAAAAAAA=="])
def test_decoding_a_malformed_timestamp_names_the_problem(bad: object) -> None:
    with pytest.raises(ProtocolError, match="timestamp"):
        msg.decode_ts(bad)


def test_connect_from_npm_parses_every_field() -> None:
    m = parse(
        {
            "type": "Connect",
            "sessionId": "2b1f7c1e-8c4e-4a55-9d8e-4f0b8f3b2a11",
            "connectionCount": 1,
            "lastCloseReason": "InactiveServer",
            "maxObservedTimestamp": "Fa4B4qzGbBg=",
            "clientTs": 1760000061000,
        }
    )
    assert m == msg.Connect(
        "2b1f7c1e-8c4e-4a55-9d8e-4f0b8f3b2a11",
        1,
        "InactiveServer",
        msg.decode_ts("Fa4B4qzGbBg="),
        1760000061000,
    )


def test_connect_without_optional_fields_parses() -> None:
    m = parse({"type": "Connect", "sessionId": "s", "connectionCount": 0})
    assert isinstance(m, msg.Connect)
    assert m.last_close_reason is None and m.max_observed_ts is None


def test_modify_query_set_parses_adds_and_removes() -> None:
    m = parse(
        {
            "type": "ModifyQuerySet",
            "baseVersion": 1,
            "newVersion": 2,
            "modifications": [
                {
                    "type": "Add",
                    "queryId": 0,
                    "udfPath": "messages:list",
                    "args": [{}],
                    "journal": None,
                },
                {
                    "type": "Add",
                    "queryId": 1,
                    "udfPath": "a:b",
                    "args": [{}],
                    "journal": "J",
                    "componentPath": "",
                },
                {"type": "Remove", "queryId": 0},
            ],
        }
    )
    assert isinstance(m, msg.ModifyQuerySet)
    assert m.modifications == (
        msg.AddQuery(0, "messages:list", [{}], None, None),
        msg.AddQuery(1, "a:b", [{}], "J", ""),
        msg.RemoveQuery(0),
    )


def test_authenticate_accepts_impersonating_and_acting_as() -> None:
    user = {"tokenIdentifier": "i|u", "subject": "u"}
    a = parse(
        {
            "type": "Authenticate",
            "tokenType": "Admin",
            "value": "k",
            "baseVersion": 0,
            "impersonating": user,
        }
    )
    b = parse(
        {
            "type": "Authenticate",
            "tokenType": "Admin",
            "value": "k",
            "baseVersion": 0,
            "actingAs": user,
        }
    )
    assert isinstance(a, msg.Authenticate) and a.acting_as == user
    assert b == a
    none = parse({"type": "Authenticate", "tokenType": "None", "baseVersion": 1})
    assert none == msg.Authenticate(1, "None", None, None)


def test_mutation_action_and_event_parse() -> None:
    m = parse({"type": "Mutation", "requestId": 3, "udfPath": "m:send", "args": [{"a": 1}]})
    assert m == msg.FunctionRequest("mutation", 3, "m:send", [{"a": 1}], None)
    a = parse(
        {"type": "Action", "requestId": 4, "udfPath": "a:b", "args": [{}], "componentPath": None}
    )
    assert isinstance(a, msg.FunctionRequest) and a.kind == "action"
    e = parse({"type": "Event", "eventType": "ClientConnect", "event": {"x": 1}})
    assert e == msg.Event("ClientConnect", {"x": 1})


def test_unknown_fields_are_ignored() -> None:
    m = parse({"type": "Mutation", "requestId": 0, "udfPath": "m:f", "args": [], "future": True})
    assert isinstance(m, msg.FunctionRequest)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ({"type": "Subscribe"}, "Unknown message type 'Subscribe'"),
        ({"kind": "Connect"}, "Unknown message type None"),
        ({"type": "Connect", "connectionCount": 0}, "missing the field `sessionId`"),
        ({"type": "Connect", "sessionId": "s", "connectionCount": -1}, "connectionCount"),
        ({"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1}, "`modifications`"),
        (
            {"type": "ModifyQuerySet", "baseVersion": 2, "newVersion": 2, "modifications": []},
            "greater than",
        ),
        (
            {
                "type": "ModifyQuerySet",
                "baseVersion": 0,
                "newVersion": 1,
                "modifications": [{"type": "Replace"}],
            },
            "'Add' or 'Remove'",
        ),
        (
            {
                "type": "ModifyQuerySet",
                "baseVersion": 0,
                "newVersion": 1,
                "modifications": [{"type": "Add", "queryId": "x"}],
            },
            "queryId",
        ),
        (
            {"type": "Mutation", "requestId": 0, "udfPath": "a:b", "args": {}},
            "args must be an array",
        ),
        ({"type": "Mutation", "requestId": 1.5, "udfPath": "a:b", "args": []}, "requestId"),
        ({"type": "Action", "requestId": 0, "udfPath": 7, "args": []}, "udfPath must be a string"),
        ({"type": "Authenticate", "tokenType": "Bearer", "baseVersion": 0}, "tokenType"),
        ({"type": "Authenticate", "tokenType": "User", "baseVersion": 0}, "`value`"),
        (
            {
                "type": "Authenticate",
                "tokenType": "User",
                "value": "t",
                "baseVersion": 0,
                "impersonating": {},
            },
            "Only an Admin",
        ),
        ({"type": "Event", "event": 1}, "eventType"),
    ],
)
def test_malformed_client_messages_raise_a_protocol_error_naming_the_problem(
    message: object, problem: str
) -> None:
    text = message if isinstance(message, str) else orjson.dumps(message)
    with pytest.raises(ProtocolError) as info:
        msg.parse_client_message(text)
    assert problem in info.value.message


def test_transition_chains_versions_and_keeps_shared_bodies_verbatim() -> None:
    body = msg.query_updated_body('{"a":1.5}', ["[LOG] x"], None)
    text = msg.transition(
        StateVersion(1, 0, 5),
        StateVersion(2, 0, 9),
        [msg.query_modification(7, body), msg.query_removed(3)],
        client_clock_skew=-12,
        server_ts=10**18,
    )
    parsed = orjson.loads(text)
    assert parsed == {
        "type": "Transition",
        "startVersion": {"querySet": 1, "identity": 0, "ts": msg.encode_ts(5)},
        "endVersion": {"querySet": 2, "identity": 0, "ts": msg.encode_ts(9)},
        "modifications": [
            {
                "type": "QueryUpdated",
                "queryId": 7,
                "value": {"a": 1.5},
                "logLines": ["[LOG] x"],
                "journal": None,
            },
            {"type": "QueryRemoved", "queryId": 3},
        ],
        "clientClockSkew": -12,
        "serverTs": 10**18,
    }


def test_log_lines_are_always_an_array() -> None:
    for text in (
        msg.query_modification(0, msg.query_updated_body("null", [], None)),
        msg.query_modification(0, msg.query_failed_body("boom", [], None, None)),
        msg.mutation_response(0, success=True, result_json="null", ts=1, log_lines=[]),
        msg.action_response(0, success=False, result_json='"e"', log_lines=[]),
    ):
        assert orjson.loads(text)["logLines"] == []


def test_error_data_is_present_only_for_convex_errors() -> None:
    plain = orjson.loads("{" + msg.query_failed_body("e", [], None, None) + "}")
    assert "errorData" not in plain
    with_data = orjson.loads("{" + msg.query_failed_body("e", [], None, "null") + "}")
    assert "errorData" in with_data and with_data["errorData"] is None
    failed = orjson.loads(
        msg.mutation_response(1, success=False, result_json='"e"', ts=None, log_lines=[])
    )
    assert "errorData" not in failed
    convex = orjson.loads(
        msg.action_response(
            1, success=False, result_json='"e"', log_lines=[], error_data_json='{"code":"X"}'
        )
    )
    assert convex["errorData"] == {"code": "X"}


def test_successful_mutation_responses_carry_their_commit_ts_and_failures_null() -> None:
    ok = orjson.loads(
        msg.mutation_response(2, success=True, result_json='"id"', ts=77, log_lines=[])
    )
    assert ok["ts"] == msg.encode_ts(77) and ok["success"] is True
    failed = orjson.loads(
        msg.mutation_response(2, success=False, result_json='"e"', ts=None, log_lines=[])
    )
    assert failed["ts"] is None and failed["success"] is False
    with pytest.raises(ValueError):
        msg.mutation_response(2, success=True, result_json="null", ts=None, log_lines=[])
    action = orjson.loads(msg.action_response(3, success=True, result_json="1", log_lines=[]))
    assert "ts" not in action


def test_auth_and_fatal_errors_and_ping() -> None:
    assert orjson.loads(msg.auth_error("bad", 0, auth_update_attempted=True)) == {
        "type": "AuthError",
        "error": "bad",
        "baseVersion": 0,
        "authUpdateAttempted": True,
    }
    assert orjson.loads(msg.fatal_error("nope")) == {"type": "FatalError", "error": "nope"}
    assert orjson.loads(msg.PING) == {"type": "Ping"}
