"""An in-process Bayou (real database, runner, sync layer and ASGI server on a loopback
port, with the fake runtime of `fake_runtime.py`) and a raw protocol client for it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bayou.auth.admin_key import mint_admin_key
from bayou.backend import Backend
from bayou.config import Settings
from bayou.server.app import api_app
from bayou.sync.limits import SyncLimits
from tests.sync.app import Gates, build_app
from tests.sync.fake_runtime import FakeApp, FakeRuntime

TEST_LIMITS = SyncLimits(
    max_queries=40,
    max_message_bytes=256 * 1024,
    max_pending_mutations=3,
    max_actions_in_flight=3,
    heartbeat_s=0.3,
    idle_cache_entries=50,
)
RECV_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


@dataclass
class Deployment:
    """A running in-process deployment."""

    backend: Backend
    runtime: FakeRuntime
    gates: Gates
    url: str
    admin_key: str

    def ws_url(self, path: str = "/api/1.48.0/sync") -> str:
        return self.url.replace("http://", "ws://") + path

    def activate(self, app: FakeApp) -> None:
        self.runtime.install(app)
        self.backend.activate(app.deployment())

    async def client(self, path: str = "/api/1.48.0/sync", **headers: str) -> RawClient:
        ws = await connect(
            self.ws_url(path), additional_headers=headers or None, max_size=None, ping_interval=None
        )
        return RawClient(ws)


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    gates = Gates()
    app = build_app(gates)
    runtime = FakeRuntime(app)
    port = free_port()
    settings = Settings(data_dir=tmp_path / "data", port=port, site_port=free_port())
    backend = Backend(settings, runtimes=lambda s: {"js": runtime}, sync_limits=TEST_LIMITS)  # type: ignore[arg-type,dict-item]
    await backend.start()
    backend.activate(app.deployment())
    config = uvicorn.Config(
        api_app(backend),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_config=None,
        ws="websockets-sansio",
        ws_max_size=2 * TEST_LIMITS.max_message_bytes,
        ws_ping_interval=None,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    assert backend.credentials is not None
    key = mint_admin_key(backend.credentials.name, backend.credentials.secret)
    try:
        yield Deployment(backend, runtime, gates, f"http://127.0.0.1:{port}", key)
    finally:
        for event in gates.events.values():
            event.set()
        server.should_exit = True
        await task
        await backend.stop()


class RawClient:
    """Speaks the sync protocol by hand, as the official clients do."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.session_id = str(uuid.uuid4())
        self.query_set = 0
        self.identity = 0
        self.version: dict[str, Any] = {"querySet": 0, "identity": 0, "ts": "AAAAAAAAAAA="}
        self.next_query_id = 0
        self.next_request_id = 0
        self.received: list[dict[str, Any]] = []
        self.values: dict[int, Any] = {}  # the latest QueryUpdated value of each query

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        if isinstance(message, dict):
            message = orjson.dumps(message).decode()
        await self.ws.send(message)

    async def recv(self, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
        """The next message that is not a Ping."""
        while True:
            message = await self.recv_any(timeout)
            if message["type"] != "Ping":
                return message

    async def recv_any(self, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        message = orjson.loads(raw)
        self.received.append(message)
        if message["type"] == "Transition":
            assert message["startVersion"] == self.version, "transitions must chain"
            self.version = message["endVersion"]
            for mod in message["modifications"]:
                if mod["type"] == "QueryUpdated":
                    self.values[mod["queryId"]] = mod["value"]
        return message

    async def response(self) -> dict[str, Any]:
        """The next MutationResponse or ActionResponse (transitions in between are read)."""
        message = await self.recv()
        while message["type"] == "Transition":
            message = await self.recv()
        return message

    async def expect_nothing(self, seconds: float = 0.5) -> None:
        """No message but Pings arrives for `seconds`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    message = await self.recv_any(seconds)
                    assert message["type"] == "Ping", f"unexpected {message}"

    async def closed(self, timeout: float = RECV_TIMEOUT) -> tuple[int | None, str]:
        """Wait for the server to close; returns (code, reason)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.recv_any(timeout)
        except ConnectionClosed as e:
            close = e.rcvd
            return (close.code if close else None, close.reason if close else "")
        raise AssertionError("the server did not close the connection")

    async def connect(self, **fields: Any) -> dict[str, Any]:
        """`Connect` and the empty first ModifyQuerySet; returns the first Transition."""
        await self.send(
            {
                "type": "Connect",
                "sessionId": self.session_id,
                "connectionCount": 0,
                "lastCloseReason": "InitialConnect",
                "clientTs": 0,
                **fields,
            }
        )
        return await self.modify([])

    async def modify(
        self, modifications: list[dict[str, Any]], *, wait: bool = True
    ) -> dict[str, Any]:
        base = self.query_set
        self.query_set += 1
        await self.send(
            {
                "type": "ModifyQuerySet",
                "baseVersion": base,
                "newVersion": self.query_set,
                "modifications": modifications,
            }
        )
        if not wait:
            return {}
        while True:  # earlier transitions (e.g. reflecting mutations) may come first
            transition = await self.transition()
            if transition["endVersion"]["querySet"] >= self.query_set:
                return transition

    async def subscribe(
        self, udf_path: str, args: dict[str, Any] | None = None, **extra: Any
    ) -> tuple[int, dict[str, Any]]:
        """Add a query; returns its id and its first modification."""
        query_id = self.next_query_id
        self.next_query_id += 1
        transition = await self.modify(
            [
                {
                    "type": "Add",
                    "queryId": query_id,
                    "udfPath": udf_path,
                    "args": [args or {}],
                    **extra,
                }
            ]
        )
        return query_id, modification_for(transition, query_id)

    async def unsubscribe(self, query_id: int) -> dict[str, Any]:
        return await self.modify([{"type": "Remove", "queryId": query_id}])

    async def reflection_of(self, response: dict[str, Any]) -> dict[str, Any]:
        """The first Transition at or after a MutationResponse's ts (what npm waits for)."""
        while True:
            transition = await self.transition()
            if ts_of(transition["endVersion"]["ts"]) >= ts_of(response["ts"]):
                return transition

    async def transition(self) -> dict[str, Any]:
        message = await self.recv()
        assert message["type"] == "Transition", f"expected a Transition, got {message}"
        return message

    async def request(
        self,
        kind: str,
        udf_path: str,
        args: dict[str, Any] | None = None,
        request_id: int | None = None,
    ) -> int:
        if request_id is None:
            request_id = self.next_request_id
            self.next_request_id += 1
        await self.send(
            {"type": kind, "requestId": request_id, "udfPath": udf_path, "args": [args or {}]}
        )
        return request_id

    async def mutation(self, udf_path: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a mutation; returns its response (the covering transition is left to read)."""
        request_id = await self.request("Mutation", udf_path, args)
        response = await self.recv()
        while response["type"] == "Transition":  # covering earlier requests
            response = await self.recv()
        assert response["type"] == "MutationResponse" and response["requestId"] == request_id, (
            response
        )
        return response

    async def authenticate(self, token_type: str, value: str | None = None, **extra: Any) -> None:
        message: dict[str, Any] = {
            "type": "Authenticate",
            "tokenType": token_type,
            "baseVersion": self.identity,
            **extra,
        }
        if value is not None:
            message["value"] = value
        self.identity += 1
        await self.send(message)

    async def close(self) -> None:
        await self.ws.close()


def modification_for(transition: dict[str, Any], query_id: int) -> dict[str, Any]:
    found = [m for m in transition["modifications"] if m.get("queryId") == query_id]
    assert len(found) == 1, f"query {query_id} not in {transition}"
    return found[0]


def ts_of(encoded: str) -> int:
    import base64
    import struct

    return struct.unpack("<Q", base64.b64decode(encoded))[0]
