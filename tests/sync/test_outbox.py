"""The outbox: ordered sends, heartbeats, closing, and a bound on what a non-reading client
can make the server hold."""

from __future__ import annotations

import asyncio

from bayou.sync.outbox import Outbox


class FakeTransport:
    def __init__(self, *, block: bool = False) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.unblock = asyncio.Event()
        if not block:
            self.unblock.set()

    async def receive(self) -> str | bytes | None:
        return None

    async def send_text(self, text: str) -> None:
        await self.unblock.wait()
        self.sent.append(text)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_messages_leave_in_the_order_they_were_queued() -> None:
    transport = FakeTransport(block=True)
    outbox = Outbox(transport, heartbeat_s=60)
    sender = asyncio.ensure_future(outbox.send("a"))
    await settle()  # "a" is being sent (blocked in the transport)
    outbox.push("b")
    await settle()
    outbox.push("c")
    transport.unblock.set()
    await sender
    await outbox.drained()
    assert transport.sent == ["a", "b", "c"]
    outbox.stop()


async def test_an_idle_outbox_sends_a_json_ping() -> None:
    transport = FakeTransport()
    outbox = Outbox(transport, heartbeat_s=0.05)
    for _ in range(100):
        if transport.sent:
            break
        await asyncio.sleep(0.01)
    assert transport.sent[0] == '{"type":"Ping"}'
    outbox.stop()


async def test_finish_drops_the_queue_sends_the_final_message_and_closes() -> None:
    transport = FakeTransport(block=True)
    outbox = Outbox(transport, heartbeat_s=60)
    outbox.push("first")
    outbox.push("dropped")
    await settle()
    outbox.finish('{"type":"FatalError","error":"x"}', code=1000)
    transport.unblock.set()
    await outbox.wait_closed()
    assert transport.sent == ["first", '{"type":"FatalError","error":"x"}']
    assert transport.closed == (1000, "")
    outbox.push("after")
    assert "after" not in transport.sent


async def test_a_client_that_does_not_read_is_disconnected_not_buffered_forever() -> None:
    transport = FakeTransport(block=True)
    outbox = Outbox(transport, heartbeat_s=60, max_queued=10)
    for i in range(12):
        outbox.push(str(i))
    await settle()
    transport.unblock.set()
    await outbox.wait_closed()
    assert transport.closed is not None and transport.closed[0] == 1013
    assert transport.closed[1].startswith("ClientNotReading")
    assert len(transport.sent) <= 1
