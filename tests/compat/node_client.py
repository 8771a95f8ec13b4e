"""The official npm `ConvexClient`, in a Node process a test drives over JSON lines.

    async with NodeClient.start(node, js_dir, url) as client:
        client.subscribe("q", "messages:list")
        first = await client.update("q")
        result = await client.mutation("messages:send", {"body": "hi"})

The process is `tests/compat/node/client_driver.cjs`; values cross as Convex-encoded
JSON. Everything the client printed on stderr is kept for failure messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson

DRIVER = Path(__file__).parent / "node" / "client_driver.cjs"
EVENT_TIMEOUT = 20.0


class NodeClientError(AssertionError):
    pass


class NodeClient:
    """One Node process holding one official `ConvexClient`."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self._unread: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._ids = itertools.count()
        self.stderr = bytearray()
        # setAuth: answers the client's token requests (forceRefreshToken → token or None).
        self.token_provider: Callable[[bool], str | None] | None = None
        self._readers = [
            asyncio.ensure_future(self._read_stdout()),
            asyncio.ensure_future(self._read_stderr()),
        ]

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, node: str, js_dir: Path, url: str) -> AsyncIterator[NodeClient]:
        process = await asyncio.create_subprocess_exec(
            node,
            str(DRIVER),
            url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "NODE_PATH": str(js_dir / "node_modules")},
        )
        client = cls(process)
        try:
            await client.next_event(lambda e: e["event"] == "ready")
            yield client
        finally:
            await client.stop()

    async def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            if not line.startswith(b"{"):
                self.stderr += line  # not an event: keep it with the diagnostics
                continue
            event = orjson.loads(line)
            if event["event"] == "tokenRequest" and self.token_provider is not None:
                token = self.token_provider(event["forceRefreshToken"])
                self.send({"op": "token", "n": event["n"], "token": token})
            self.events.append(event)
            self._unread.append(event)
            self._arrived.set()
        self._arrived.set()

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.stderr += line

    def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(orjson.dumps(command) + b"\n")

    async def next_event(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = EVENT_TIMEOUT
    ) -> dict[str, Any]:
        """The first not yet consumed event matching `predicate` (waiting for it)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for i, event in enumerate(self._unread):
                        if predicate(event):
                            del self._unread[i]
                            return event
                    if self.process.stdout is not None and self.process.stdout.at_eof():
                        raise NodeClientError(f"the client exited\n{self.diagnostics()}")
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise NodeClientError(
                f"no matching event in {timeout}s\n{self.diagnostics()}"
            ) from None

    def diagnostics(self) -> str:
        tail = self.stderr.decode(errors="replace")[-3000:]
        return f"events: {self.events[-10:]}\nstderr:\n{tail}"

    # -- commands -------------------------------------------------------------------------

    def subscribe(self, id: str, path: str, args: dict[str, Any] | None = None) -> None:
        self.send({"op": "subscribe", "id": id, "path": path, "args": args or {}})

    def unsubscribe(self, id: str) -> None:
        self.send({"op": "unsubscribe", "id": id})

    async def update(self, id: str, timeout: float = EVENT_TIMEOUT) -> Any:
        """The next result of subscription `id` (raises on a query error)."""
        event = await self.next_event(
            lambda e: e.get("id") == id and e["event"] in ("update", "queryError"), timeout
        )
        if event["event"] == "queryError":
            raise NodeClientError(f"query {id} failed: {event['message']}")
        return event["value"]

    async def update_until(
        self, id: str, predicate: Callable[[Any], bool], timeout: float = EVENT_TIMEOUT
    ) -> Any:
        """The first new result of `id` for which `predicate` holds (skipping others)."""
        async with asyncio.timeout(timeout):
            while True:
                value = await self.update(id, timeout)
                if predicate(value):
                    return value

    async def no_update(self, id: str, seconds: float) -> None:
        """Assert that subscription `id` gets no new result for `seconds`."""
        with contextlib.suppress(NodeClientError):
            event = await self.next_event(lambda e: e.get("id") == id, seconds)
            raise AssertionError(f"unexpected update {event}")

    async def call(self, op: str, path: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a query/mutation/action; returns the `result` or `failure` event."""
        id = f"r{next(self._ids)}"
        self.send({"op": op, "id": id, "path": path, "args": args or {}})
        return await self.next_event(lambda e: e.get("id") == id)

    async def mutation(self, path: str, args: dict[str, Any] | None = None) -> Any:
        event = await self.call("mutation", path, args)
        if event["event"] != "result":
            raise NodeClientError(f"mutation {path} failed: {event}")
        return event["value"]

    def admin_auth(self, key: str, identity: dict[str, Any] | None = None) -> None:
        command: dict[str, Any] = {"op": "adminAuth", "key": key}
        if identity is not None:
            command["identity"] = identity
        self.send(command)

    def set_auth(self, token_provider: Callable[[bool], str | None]) -> None:
        """`client.setAuth(fetchToken, onChange)`: each token request is answered with
        `token_provider(forceRefreshToken)`; requests and `authChange` arrive as events."""
        self.token_provider = token_provider
        self.send({"op": "setAuth"})

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(Exception):
                self.send({"op": "close"})
            try:
                async with asyncio.timeout(5):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        for reader in self._readers:
            reader.cancel()
