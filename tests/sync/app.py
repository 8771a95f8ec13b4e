"""The functions the sync tests subscribe to and call (a fake runtime's app)."""

from __future__ import annotations

import asyncio
from typing import Any

from bayou.errors import ConvexError
from bayou.values import Int64
from tests.sync.fake_runtime import Ctx, FakeApp


class Gates:
    """Events a test opens to let blocked functions finish (ordering and bounds tests)."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}

    def get(self, name: str) -> asyncio.Event:
        return self.events.setdefault(name, asyncio.Event())


def build_app(gates: Gates, version: str = "v1", greeting: str = "hello") -> FakeApp:
    app = FakeApp(version=version)

    @app.query("messages:list")
    async def list_messages(ctx: Ctx, args: dict[str, Any]) -> Any:
        ctx.log("listing")
        return [m["body"] for m in await ctx.collect("messages")]

    @app.query("messages:count")
    async def count(ctx: Ctx, args: dict[str, Any]) -> Any:
        return float(len(await ctx.collect("messages")))

    @app.query("messages:exists")
    async def exists(ctx: Ctx, args: dict[str, Any]) -> Any:
        return len(await ctx.collect("messages")) > 0

    @app.query("messages:page")
    async def page(ctx: Ctx, args: dict[str, Any]) -> Any:
        result = await ctx.paginate("ranked", args["paginationOpts"])
        result["page"] = [d["rank"] for d in result["page"]]
        return result

    @app.mutation("messages:send")
    async def send(ctx: Ctx, args: dict[str, Any]) -> Any:
        ctx.log("sending", args.get("body"))
        return await ctx.insert("messages", {"body": args["body"]})

    @app.mutation("messages:sendAfterGate")
    async def send_after_gate(ctx: Ctx, args: dict[str, Any]) -> Any:
        await gates.get(args["gate"]).wait()
        return await ctx.insert("messages", {"body": args["body"]})

    @app.mutation("messages:rank")
    async def rank(ctx: Ctx, args: dict[str, Any]) -> Any:
        return await ctx.insert("ranked", {"rank": args["rank"]})

    @app.mutation("messages:remove")
    async def remove(ctx: Ctx, args: dict[str, Any]) -> Any:
        await ctx.delete(args["id"])
        return None

    @app.mutation("other:touch")
    async def touch(ctx: Ctx, args: dict[str, Any]) -> Any:
        return await ctx.insert("other", {"n": 1.0})

    @app.mutation("messages:failWith")
    async def fail_with(ctx: Ctx, args: dict[str, Any]) -> Any:
        if args.get("convex"):
            raise ConvexError({"code": "NOPE"})
        raise RuntimeError("plain failure")

    @app.query("messages:fails")
    async def fails(ctx: Ctx, args: dict[str, Any]) -> Any:
        await ctx.collect("messages")
        if args.get("convex"):
            raise ConvexError("no access")
        raise RuntimeError("query failure")

    @app.query("values:special")
    async def special(ctx: Ctx, args: dict[str, Any]) -> Any:
        return {
            "int": Int64(42),
            "neg": Int64(-1),
            "nan": float("nan"),
            "inf": float("inf"),
            "negzero": -0.0,
            "float": 5.0,
            "bytes": b"hello",
        }

    @app.query("users:whoami")
    async def whoami(ctx: Ctx, args: dict[str, Any]) -> Any:
        identity = await ctx.identity()
        return None if identity is None else identity["tokenIdentifier"]

    @app.query("config:greeting")
    async def env_greeting(ctx: Ctx, args: dict[str, Any]) -> Any:
        return f"{greeting} {ctx.env.get('GREETING_NAME', 'nobody')}"

    @app.query("secret:internalList", visibility="internal")
    async def internal_list(ctx: Ctx, args: dict[str, Any]) -> Any:
        return float(len(await ctx.collect("messages")))

    @app.action("actions:echo")
    async def echo(ctx: Ctx, args: dict[str, Any]) -> Any:
        ctx.log("echoing")
        if args.get("gate"):
            await gates.get(args["gate"]).wait()
        return args.get("value")

    @app.action("actions:sendVia")
    async def send_via(ctx: Ctx, args: dict[str, Any]) -> Any:
        return await ctx.run_mutation("messages:send", {"body": args["body"]})

    @app.action("actions:fail")
    async def action_fail(ctx: Ctx, args: dict[str, Any]) -> Any:
        raise ConvexError({"why": "because"})

    return app
