"""The sync WebSocket: `/api/<client version>/sync` (npm clients) and `/api/sync` (the Rust
core of the PyPI client), each also with the doubled leading slash a deployment URL with a
trailing `/` produces (wire-protocol.md §2.1). The protocol itself lives in `bayou.sync`;
this module adapts an ASGI WebSocket to it and says who an `Authenticate` names.
"""

from __future__ import annotations

import logging

from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send

from bayou.auth.identity_attributes import parse_identity_attributes
from bayou.backend import Backend
from bayou.errors import Unauthenticated
from bayou.protocol.sync_messages import Authenticate
from bayou.runner.identity import ANONYMOUS, Identity
from bayou.server.auth import admin_identity, verify_user
from bayou.server.http import origin_of

log = logging.getLogger("bayou.server")


class AsgiTransport:
    """The sync layer's `Transport` over raw ASGI WebSocket events."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.gone = False

    async def receive(self) -> str | bytes | None:
        if self.gone:
            return None
        event = await self._receive()
        if event["type"] == "websocket.disconnect":
            self.gone = True
            return None
        text = event.get("text")
        return text if text is not None else event.get("bytes") or b""

    async def send_text(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.gone:
            return
        self.gone = True
        await self._send({"type": "websocket.close", "code": code, "reason": reason})


def authenticator(backend: Backend):
    """Who an `Authenticate` message names; raises a BayouError to refuse it."""

    async def authenticate(message: Authenticate) -> Identity:
        if message.token_type == "None":
            return ANONYMOUS
        assert message.value is not None
        if message.token_type == "User":
            return await verify_user(backend, message.value)
        identity = admin_identity(backend, message.value)
        if message.acting_as is None:
            return identity
        try:
            user = parse_identity_attributes(message.acting_as)
        except ValueError as e:
            raise Unauthenticated(
                f"Invalid identity to act as: {e}", code="InvalidIdentity"
            ) from None
        return Identity(kind=identity.kind, user=user, admin=identity.admin)

    return authenticate


class SyncEndpoint:
    """An ASGI app for one sync WebSocket connection."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.authenticate = authenticator(backend)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        event = await receive()
        if event["type"] != "websocket.connect":
            return
        sync = self.backend.sync
        if sync is None:
            await send({"type": "websocket.close", "code": 1013, "reason": "ServiceUnavailable"})
            return
        await send({"type": "websocket.accept"})
        client = dict(scope.get("headers") or []).get(b"convex-client", b"").decode("latin-1")
        version = (scope.get("path_params") or {}).get("version")
        if not client and version:
            client = f"npm-{version}"
        await sync.serve(
            AsgiTransport(receive, send), self.authenticate, client=client, origin=origin_of(scope)
        )


def routes(backend: Backend) -> list[WebSocketRoute]:
    endpoint = SyncEndpoint(backend)
    return [
        WebSocketRoute("/api/sync", endpoint),
        WebSocketRoute("/api/{version}/sync", endpoint),
        WebSocketRoute("//api/sync", endpoint),
        WebSocketRoute("//api/{version}/sync", endpoint),
    ]
