"""The Python worker process: runs Convex functions written in Python for the host.

    python -m bayou.runtimes.python.worker <fd in> <fd out>

Before anything else it confines itself by the policy the host put in its environment
(`bayou.runtimes.confinement`: its user, Landlock, seccomp, rlimits, death with the host),
so no user module is imported into an unconfined process. It speaks the frames of
`frames.py` on the two descriptors, runs one call at a time
(queries and mutations under the sandbox of `sandbox.py`, each call with a fresh `ctx`),
and answers analysis requests. Its stdout is redirected to stderr so that nothing but
frames ever reaches the host's pipe; `print` and `logging` inside a call become the call's
log lines. After a call that timed out it exits (the host replaces it): code interrupted at
an arbitrary point may have left module state half-updated.

Layering: this module (and what it imports) uses only `bayou.errors`, `bayou.values`,
`bayou.protocol` and `bayou.runtimes` — never the database, which lives in the host.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import resource
import signal
import sys
from types import FrameType
from typing import Any, Final
from urllib.parse import urlsplit

from bayou.errors import ConvexError
from bayou.runtimes.confinement import POLICY_VARIABLE, Policy, apply
from bayou.runtimes.python import logs as call_logs
from bayou.runtimes.python import sandbox, stubbed_network
from bayou.runtimes.python.analysis import AnalysisFailed, analyze_app
from bayou.runtimes.python.api.context import make_ctx
from bayou.runtimes.python.api.functions import RegisteredFunction
from bayou.runtimes.python.api.http import Request, Response
from bayou.runtimes.python.api.query import _QueryBase
from bayou.runtimes.python.api.syscalls import CallInfo
from bayou.runtimes.python.api.values import to_convex
from bayou.runtimes.python.channel import (
    CallChannel,
    UserTimeout,
    UserTimer,
    Wire,
    timeout_message,
)
from bayou.runtimes.python.loader import App, FunctionNotFound, Loader, router_of
from bayou.runtimes.python.logs import LogSink
from bayou.runtimes.python.tracebacks import ErrorFormatter
from bayou.values import json as vjson

_KIND_LABELS: Final = {"query": "Query", "mutation": "Mutation", "action": "Action"}
# Convex's limit on a function's return value (its `FUNCTION_MAX_RESULT_SIZE`).
MAX_RESULT_BYTES: Final = 16 << 20


def result_too_large(path: str, size: int) -> str:
    """Convex's words for a return value past the limit."""
    return (
        f"Function {path} return value is too large (actual: {_format_size(size)}, "
        f"limit: {_format_size(MAX_RESULT_BYTES)})"
    )


def _format_size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.2f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{n} B"


def out_of_memory_message() -> str:
    """Convex's words for a function out of memory, with this worker's cap."""
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    cap = "unknown" if limit == resource.RLIM_INFINITY else str(limit >> 20)
    return f"Python execution ran out of memory (maximum memory usage: {cap} MB)"


class WorkerError(Exception):
    """A problem with the call itself (not user code): reported as `Uncaught Error: …`."""


class Worker:
    """The loop of one worker process."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.loader = Loader()
        self.environment = sandbox.Environment()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.timer: UserTimer | None = None

    def on_alarm(self, signum: int, frame: FrameType | None) -> None:
        timer = self.timer
        if timer is not None and timer.running:
            raise UserTimeout()

    def serve(self) -> None:
        self.wire.send({"t": "ready", "pid": os.getpid()})
        while (message := self.wire.read()) is not None:
            kind = message.get("t")
            retire = False
            if kind == "call":
                retire = self.call(message)
            elif kind == "analyze":
                retire = self.analyze(message)
            if retire:
                break

    # -- calls -------------------------------------------------------------------------

    def call(self, msg: dict[str, Any]) -> bool:
        """Run one call and send its result; True when this worker must retire."""
        kind = msg["kind"]
        deterministic = kind != "action"
        frozen = bool(msg.get("frozenClock"))  # the test harness's fake clock
        execution = sandbox.Execution(
            deterministic,
            float(msg["now"]),
            int(msg["seed"]),
            network=not deterministic,
            frozen_clock=frozen,
        )
        timer = UserTimer(float(msg["limit"]), pausable=deterministic)
        channel = CallChannel(
            self.wire,
            msg["id"],
            timer,
            defer_writes=msg.get("dw") == 1,
            read_ahead=msg.get("pre"),
        )
        info = CallInfo(
            channel,
            kind,
            request_id=msg.get("rid") or "",
            table_numbers=msg.get("tables") or {},
            now_ms=float(msg["now"]) if deterministic or frozen else None,
        )
        self.environment.apply(msg.get("env") or {})
        self.timer = timer
        token = sandbox.CURRENT.set(execution)
        call_token = stubbed_network.CURRENT_CALL.set(info)
        retire = False
        app: App | None = None
        try:
            try:
                timer.start()
                app = self.loader.ensure(
                    msg["v"], msg["dir"], msg.get("env") or {}, msg["importSeed"], msg["importNow"]
                )
                value = self._run(msg, app, info, execution.logs)
                encoded = vjson.dumps(value)
                timer.stop()
                if len(encoded) > MAX_RESULT_BYTES:
                    path = f"{msg['module'].removesuffix('.py')}.js:{msg['name']}"
                    raise WorkerError(result_too_large(path, len(encoded)))
                outcome: dict[str, Any] = {"ok": True, "value": encoded.decode()}
            except UserTimeout:
                raise
            except MemoryError:
                # The address-space cap refused an allocation: the call fails as Convex
                # words it, and the worker, which may be short of memory now, retires.
                timer.stop()
                message = out_of_memory_message()
                outcome = {"ok": False, "error": {"message": message, "data": None}}
                retire = True
            except BaseException as error:  # user code may raise anything, even SystemExit
                timer.stop()
                outcome = self._failure(error, app)
        except UserTimeout:
            timer.stop()
            outcome = {
                "ok": False,
                "error": {"message": timeout_message(timer.limit_s), "data": None},
                "timeout": True,
            }
            retire = True
        finally:
            timer.stop()
            self.timer = None
            sandbox.CURRENT.reset(token)
            stubbed_network.CURRENT_CALL.reset(call_token)
        execution.logs.flush()
        channel.finish()
        self.wire.send(
            {
                "t": "done",
                "id": msg["id"],
                "u": timer.used_ms,
                "ra": channel.read_ahead_used,
                **outcome,
                "logs": execution.logs.lines,
                "retire": retire,
            }
        )
        return retire

    def _run(self, msg: dict[str, Any], app: App, info: CallInfo, logs: LogSink) -> Any:
        kind, module, name = msg["kind"], msg["module"], msg["name"]
        if kind == "action" and module.removesuffix(".py") == "http" and name == "default":
            return self._http(msg, app, info, logs)
        try:
            fn = app.function(module, name, logs)
        except FunctionNotFound as e:
            raise WorkerError(str(e)) from None
        path = f"{module.removesuffix('.py')}:{name}"
        label = _KIND_LABELS[kind]
        if fn.udf_type != label:
            raise WorkerError(
                f"Trying to execute {module.removesuffix('.py')}.js:{name} as {label}, but it "
                f"is defined as {fn.udf_type}."
            )
        args = vjson.loads(msg["args"], ints=True)
        if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
            raise WorkerError(f"{path} expects one object of arguments, got {args!r}")
        kwargs = args[0]
        ctx = make_ctx(info, is_async=fn.is_async)
        try:
            fn.signature.bind(ctx, **kwargs)
        except TypeError as e:
            raise TypeError(f"{path}: {e}") from None
        result = self._invoke(fn, info, ctx, kwargs)
        return self._result(result, path)

    def _invoke(
        self, fn: RegisteredFunction[Any, Any], info: CallInfo, ctx: Any, kwargs: dict[str, Any]
    ) -> Any:
        if not fn.is_async:
            return fn.handler(ctx, **kwargs)
        return self._run_async(fn.handler(ctx, **kwargs), info)

    def _run_async(self, coroutine: Any, info: CallInfo) -> Any:
        channel = info.channel
        assert isinstance(channel, CallChannel)
        loop = self.loop
        channel.attach(loop)
        try:
            return loop.run_until_complete(coroutine)
        finally:
            # Tasks the function left running die with it (as timers die with a JS call).
            try:
                leftovers = asyncio.all_tasks(loop)
                for task in leftovers:
                    task.cancel()
                if leftovers:
                    loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            except Exception:  # a loop broken by a timeout: the worker retires anyway
                pass
            channel.detach()

    def _result(self, result: Any, path: str) -> Any:
        if isinstance(result, _QueryBase):
            raise TypeError(
                f"{path} returned a query. Results must be retrieved with .collect(), "
                ".take(n), .unique(), or .first()."
            )
        if inspect.isawaitable(result):
            raise TypeError(
                f"{path} returned an awaitable: declare the handler `async def` (or await it)"
            )
        return to_convex(result, f"The return value of {path}")

    def _http(self, msg: dict[str, Any], app: App, info: CallInfo, logs: LogSink) -> Any:
        router = router_of(app.module("http.py", logs))
        args: Any = vjson.loads(msg["args"], ints=True)
        request_json = args[0]
        method = str(request_json["method"]).upper()
        url = str(request_json["url"])
        headers = [(str(k), str(v)) for k, v in request_json.get("headers") or []]
        request = Request(method, url, headers, request_json.get("body") or b"")
        path = urlsplit(url).path
        match = router.lookup(path, method)
        routed = None
        if match is None:
            response: Any = Response(f"No HttpAction routed for {path}", status=404)
        else:
            fn, _, routed = match
            ctx = make_ctx(info, is_async=fn.is_async)
            if fn.is_async:
                response = self._run_async(fn.handler(ctx, request), info)
            else:
                response = fn.handler(ctx, request)
        response = _as_response(response, path)
        return {
            "status": float(response.status),
            "headers": [[k, v] for k, v in response.headers.raw()],
            "body": response.body,
            "routedPath": routed,
        }

    def _failure(self, error: BaseException, app: App | None) -> dict[str, Any]:
        if isinstance(error, WorkerError):
            text = str(error)
            message = text if text.startswith("Function ") else f"Uncaught Error: {text}"
            return {"ok": False, "error": {"message": message, "data": None}}
        errors = app.errors if app is not None else ErrorFormatter()
        message = errors.describe(error)
        data = None
        if isinstance(error, ConvexError):
            try:
                data = vjson.dumps(to_convex(error.data, "ConvexError data")).decode()
            except (TypeError, ValueError) as bad:
                message += f"\n(its data could not be sent: {bad})"
        return {"ok": False, "error": {"message": message, "data": data}}

    # -- analysis ------------------------------------------------------------------------

    def analyze(self, msg: dict[str, Any]) -> bool:
        """Analyze a version and send the result; True when this worker must retire."""
        env = msg.get("env") or {}
        self.environment.apply(env)
        app = self.loader.ensure(msg["v"], msg["dir"], env, msg["importSeed"], msg["importNow"])
        logs = LogSink()
        timer = UserTimer(float(msg["limit"]), pausable=False)
        self.timer = timer
        retire = False
        try:
            timer.start()
            result = analyze_app(app, list(msg["modules"]), logs)
            timer.stop()
            reply: dict[str, Any] = {"ok": True, "result": result}
        except AnalysisFailed as failed:
            timer.stop()
            reply = {"ok": False, "message": str(failed)}
        except UserTimeout:
            reply = {
                "ok": False,
                "message": (
                    f"Failed to analyze: importing the modules took more than "
                    f"{timer.limit_s:g}s (an infinite loop at module level?)"
                ),
            }
            retire = True
        finally:
            timer.stop()
            self.timer = None
        self.wire.send({"t": "analyzed", "id": msg["id"], **reply, "retire": retire})
        return retire


def _as_response(result: Any, path: str) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, (str, bytes)):
        return Response(result)
    if isinstance(result, (dict, list)):
        return Response.json(result)
    raise TypeError(
        f"The HTTP action for {path} returned {type(result).__name__}: return a "
        "bayou.Response (or a str, bytes, dict or list)"
    )


def main(argv: list[str]) -> None:
    """Entry point: `python -m bayou.runtimes.python.worker <fd in> <fd out>`."""
    fd_in, fd_out = int(argv[1]), int(argv[2])
    policy = os.environ.pop(POLICY_VARIABLE, None)
    if policy is not None:
        apply(Policy.from_json(policy))
    os.dup2(2, 1)  # stray writes to fd 1 (C extensions, os.write) land in stderr
    sandbox.install()
    if os.environ.pop(stubbed_network.ENV_FLAG, None):
        stubbed_network.install()  # the test harness answers actions' HTTP requests
    call_logs.install(sandbox.current_logs)
    worker = Worker(Wire(fd_in, fd_out))
    signal.signal(signal.SIGALRM, worker.on_alarm)
    try:
        worker.serve()
    except BrokenPipeError:  # the host went away: nobody is listening
        os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
