"""The messages of the WebSocket sync protocol (wire-protocol.md §2.3–2.4).

Client messages are parsed strictly into typed objects: an unknown `type`, a missing or
ill-typed field, or a message that is not a JSON object raises `ProtocolError` naming the
problem, which the sync layer answers with a `FatalError`. Fields the protocol does not
know are ignored, as the official server ignores them.

Server messages are built as JSON text with the presence rules the official clients
depend on: `logLines` is always an array; `errorData` appears only for a `ConvexError`;
a successful `MutationResponse` carries its commit `ts` (a failed one `"ts": null`);
`ActionResponse` has no `ts`. Function values arrive already Convex-encoded (JSON text),
so a query result is encoded once and shared by every session that receives it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import struct
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from bayou.errors import BadRequest

U32_MAX = 2**32 - 1
U64_MAX = 2**63 - 1  # timestamps are u64 but never above i64::MAX
PING = '{"type":"Ping"}'


class ProtocolError(BadRequest):
    """A client message that breaks the protocol; the connection ends with a FatalError."""

    default_code = "BadClientMessage"


# -- timestamps ------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)  # a fan-out writes one timestamp into every transition
def encode_ts(ts: int) -> str:
    """A timestamp as the protocol writes it: standard base64 (padded) of u64 LE bytes."""
    return base64.b64encode(struct.pack("<Q", ts)).decode()


def decode_ts(text: object, what: str = "timestamp") -> int:
    """The inverse of `encode_ts`; `ProtocolError` for anything but 8 bytes of base64."""
    if not isinstance(text, str):
        raise ProtocolError(f"{what} must be a base64 string, got {_kind(text)}")
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{what} {text!r} is not valid base64") from None
    if len(raw) != 8:
        raise ProtocolError(f"{what} {text!r} must encode 8 bytes, not {len(raw)}")
    ts = struct.unpack("<Q", raw)[0]
    if ts > U64_MAX:
        raise ProtocolError(f"{what} {text!r} is larger than the largest timestamp")
    return ts


# -- client messages ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect:
    session_id: str
    connection_count: int
    last_close_reason: str | None
    max_observed_ts: int | None
    client_ts: int | None


@dataclass(frozen=True, slots=True)
class AddQuery:
    query_id: int
    udf_path: str
    args: list[Any]  # raw JSON: normally one Convex-encoded object
    journal: str | None
    component_path: str | None


@dataclass(frozen=True, slots=True)
class RemoveQuery:
    query_id: int


@dataclass(frozen=True, slots=True)
class ModifyQuerySet:
    base_version: int
    new_version: int
    modifications: tuple[AddQuery | RemoveQuery, ...]


@dataclass(frozen=True, slots=True)
class FunctionRequest:
    """A `Mutation` or an `Action`."""

    kind: Literal["mutation", "action"]
    request_id: int
    udf_path: str
    args: list[Any]
    component_path: str | None


@dataclass(frozen=True, slots=True)
class Authenticate:
    base_version: int
    token_type: Literal["User", "Admin", "None"]
    value: str | None
    acting_as: dict[str, Any] | None  # `impersonating` (npm) or `actingAs` (Rust)


@dataclass(frozen=True, slots=True)
class Event:
    event_type: str
    event: Any = field(default=None)


ClientMessage = Connect | ModifyQuerySet | FunctionRequest | Authenticate | Event


def parse_client_message(text: str | bytes) -> ClientMessage:
    """Parse one client frame; raises `ProtocolError` naming what is wrong."""
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise ProtocolError(f"The message is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"A message must be a JSON object, got {_kind(obj)}")
    kind = obj.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None or not isinstance(kind, str):
        raise ProtocolError(
            f"Unknown message type {kind!r}: expected one of {', '.join(sorted(_PARSERS))}"
        )
    return parser(_Fields(kind, obj))


class _Fields:
    """Typed access to the fields of one message, with errors that name the field."""

    __slots__ = ("kind", "obj")

    def __init__(self, kind: str, obj: dict[str, Any]) -> None:
        self.kind = kind
        self.obj = obj

    def _fail(self, name: str, expected: str, value: object) -> ProtocolError:
        if value is _MISSING:
            return ProtocolError(f"{self.kind} is missing the field `{name}` ({expected})")
        return ProtocolError(f"{self.kind}.{name} must be {expected}, got {_kind(value)}")

    def u32(self, name: str, obj: dict[str, Any] | None = None, *, optional: bool = False) -> Any:
        value = (self.obj if obj is None else obj).get(name, _MISSING)
        if optional and value in (_MISSING, None):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= U32_MAX:
            raise self._fail(name, "an integer from 0 to 2^32-1", value)
        return value

    def int(self, name: str) -> int | None:
        value = self.obj.get(name)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._fail(name, "an integer", value)
        return value

    def string(self, name: str, obj: dict[str, Any] | None = None) -> str:
        value = (self.obj if obj is None else obj).get(name, _MISSING)
        if not isinstance(value, str):
            raise self._fail(name, "a string", value)
        return value

    def optional_string(self, name: str, obj: dict[str, Any] | None = None) -> str | None:
        value = (self.obj if obj is None else obj).get(name)
        if value is not None and not isinstance(value, str):
            raise self._fail(name, "a string or null", value)
        return value

    def array(self, name: str, obj: dict[str, Any] | None = None) -> list[Any]:
        value = (self.obj if obj is None else obj).get(name, _MISSING)
        if not isinstance(value, list):
            raise self._fail(name, "an array", value)
        return value


_MISSING: Any = object()


def _connect(f: _Fields) -> Connect:
    session_id = f.string("sessionId")
    if not session_id or len(session_id) > 128:
        raise ProtocolError("Connect.sessionId must be a non-empty string of at most 128 chars")
    max_observed = f.obj.get("maxObservedTimestamp")
    return Connect(
        session_id=session_id,
        connection_count=f.u32("connectionCount"),
        last_close_reason=f.optional_string("lastCloseReason"),
        max_observed_ts=None
        if max_observed is None
        else decode_ts(max_observed, "Connect.maxObservedTimestamp"),
        client_ts=f.int("clientTs"),
    )


def _modify_query_set(f: _Fields) -> ModifyQuerySet:
    base, new = f.u32("baseVersion"), f.u32("newVersion")
    if new <= base:
        raise ProtocolError(
            f"ModifyQuerySet.newVersion ({new}) must be greater than baseVersion ({base})"
        )
    mods: list[AddQuery | RemoveQuery] = []
    for i, m in enumerate(f.array("modifications")):
        if not isinstance(m, dict):
            raise ProtocolError(f"ModifyQuerySet.modifications[{i}] must be an object")
        kind = m.get("type")
        if kind == "Add":
            mods.append(
                AddQuery(
                    query_id=f.u32("queryId", m),
                    udf_path=f.string("udfPath", m),
                    args=f.array("args", m) if "args" in m else [],
                    journal=f.optional_string("journal", m),
                    component_path=f.optional_string("componentPath", m),
                )
            )
        elif kind == "Remove":
            mods.append(RemoveQuery(f.u32("queryId", m)))
        else:
            raise ProtocolError(
                f"ModifyQuerySet.modifications[{i}].type must be 'Add' or 'Remove', got {kind!r}"
            )
    return ModifyQuerySet(base, new, tuple(mods))


def _function(kind: Literal["mutation", "action"]):
    def parse(f: _Fields) -> FunctionRequest:
        return FunctionRequest(
            kind=kind,
            request_id=f.u32("requestId"),
            udf_path=f.string("udfPath"),
            args=f.array("args"),
            component_path=f.optional_string("componentPath"),
        )

    return parse


def _authenticate(f: _Fields) -> Authenticate:
    token_type = f.obj.get("tokenType")
    if token_type not in ("User", "Admin", "None"):
        raise ProtocolError(
            f"Authenticate.tokenType must be 'User', 'Admin' or 'None', got {token_type!r}"
        )
    value = None if token_type == "None" else f.string("value")
    acting_as = f.obj.get("impersonating", f.obj.get("actingAs"))
    if acting_as is not None and not isinstance(acting_as, dict):
        raise ProtocolError("Authenticate.impersonating must be an object of user attributes")
    if acting_as is not None and token_type != "Admin":
        raise ProtocolError("Only an Admin token may act as a user (impersonating)")
    return Authenticate(f.u32("baseVersion"), token_type, value, acting_as)


def _event(f: _Fields) -> Event:
    return Event(f.string("eventType"), f.obj.get("event"))


_PARSERS = {
    "Connect": _connect,
    "ModifyQuerySet": _modify_query_set,
    "Mutation": _function("mutation"),
    "Action": _function("action"),
    "Authenticate": _authenticate,
    "Event": _event,
}


def _kind(value: object) -> str:
    if value is _MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# -- server messages ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateVersion:
    """Where a client's view stands: query-set and identity versions and a timestamp."""

    query_set: int = 0
    identity: int = 0
    ts: int = 0

    def to_json(self) -> str:
        return f'{{"querySet":{self.query_set},"identity":{self.identity},"ts":"{encode_ts(self.ts)}"}}'


def _text(value: Any) -> str:
    return orjson.dumps(value).decode()


def log_lines_json(lines: list[str]) -> str:
    return _text(lines) if lines else "[]"


def query_updated_body(value_json: str, log_lines: list[str], journal: str | None) -> str:
    """The shared part of a `QueryUpdated` (everything but its queryId)."""
    return (
        f'"type":"QueryUpdated","value":{value_json},"logLines":{log_lines_json(log_lines)},'
        f'"journal":{_text(journal)}'
    )


def query_failed_body(
    error_message: str, log_lines: list[str], journal: str | None, error_data_json: str | None
) -> str:
    """The shared part of a `QueryFailed`; `error_data_json` only for a ConvexError."""
    body = (
        f'"type":"QueryFailed","errorMessage":{_text(error_message)},'
        f'"logLines":{log_lines_json(log_lines)},"journal":{_text(journal)}'
    )
    if error_data_json is not None:
        body += f',"errorData":{error_data_json}'
    return body


def query_modification(query_id: int, body: str) -> str:
    """A `QueryUpdated`/`QueryFailed` modification from its shared body."""
    return f'{{"queryId":{query_id},{body}}}'


def query_removed(query_id: int) -> str:
    return f'{{"type":"QueryRemoved","queryId":{query_id}}}'


def transition(
    start: StateVersion,
    end: StateVersion,
    modifications: list[str],
    *,
    client_clock_skew: int | None = None,
    server_ts: int | None = None,
) -> str:
    """A `Transition` from `start` to `end` with pre-built modification texts."""
    return (
        f'{{"type":"Transition","startVersion":{start.to_json()},"endVersion":{end.to_json()},'
        f'"modifications":[{",".join(modifications)}],'
        f'"clientClockSkew":{_text(client_clock_skew)},"serverTs":{_text(server_ts)}}}'
    )


def mutation_response(
    request_id: int,
    *,
    success: bool,
    result_json: str,
    ts: int | None,
    log_lines: list[str],
    error_data_json: str | None = None,
) -> str:
    """`result_json`: the Convex-encoded value on success, the JSON error string if not."""
    if success and ts is None:
        raise ValueError("a successful MutationResponse needs its commit timestamp")
    ts_json = f'"{encode_ts(ts)}"' if success and ts is not None else "null"
    text = (
        f'{{"type":"MutationResponse","requestId":{request_id},"success":{_bool(success)},'
        f'"result":{result_json},"ts":{ts_json},"logLines":{log_lines_json(log_lines)}'
    )
    if error_data_json is not None and not success:
        text += f',"errorData":{error_data_json}'
    return text + "}"


def action_response(
    request_id: int,
    *,
    success: bool,
    result_json: str,
    log_lines: list[str],
    error_data_json: str | None = None,
) -> str:
    text = (
        f'{{"type":"ActionResponse","requestId":{request_id},"success":{_bool(success)},'
        f'"result":{result_json},"logLines":{log_lines_json(log_lines)}'
    )
    if error_data_json is not None and not success:
        text += f',"errorData":{error_data_json}'
    return text + "}"


def auth_error(error: str, base_version: int | None, *, auth_update_attempted: bool) -> str:
    return _text(
        {
            "type": "AuthError",
            "error": error,
            "baseVersion": base_version,
            "authUpdateAttempted": auth_update_attempted,
        }
    )


def fatal_error(error: str) -> str:
    return _text({"type": "FatalError", "error": error})


def error_string_json(message: str) -> str:
    """An error message as the JSON string a failed response's `result` holds."""
    return _text(message)


def _bool(value: bool) -> str:
    return "true" if value else "false"
