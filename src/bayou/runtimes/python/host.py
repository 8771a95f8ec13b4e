"""`PythonRuntime`: the core's `Runtime` for functions written in Python.

    runtime = PythonRuntime()
    await runtime.start()
    await runtime.load(version, modules)          # write the modules to a per-version dir
    analysis = await runtime.analyze(version)     # {"modules", "schema", …} (analysis.py)
    result = await runtime.invoke(call, syscalls) # run one function in a worker process

A pool of worker processes (`python -m bayou.runtimes.python.worker`) runs the calls, one
call per worker at a time, preferring a worker that already imported the call's version;
`min_idle` spare workers are kept started, at most `max_idle` idle ones are kept (by
default as many as queries or mutations may run at once).
Concurrency is limited per kind like the JS runtime (16 queries, 16 mutations, 64 actions
by default); a call made while another call of this runtime is running in the same task
chain (`ctx.run_query` from an action, `ctx.run_mutation` from a mutation) bypasses the
limit, so nested calls never wait for slots their parents hold. A worker that crashes,
times out or is killed is replaced.

HTTP actions are invoked as the action `http.js:default` whose one argument is the request
`{"method", "url", "headers": [[name, value]…], "body": bytes | None}`; the result is
`{"status", "headers", "body", "routedPath"}` (routing happens in the worker, as in Convex).

A syscall handler that raises `OccError` fails the syscall in user code and then makes
`invoke` raise that `OccError` (whatever the function did with it), so the core's retry
loop sees the conflict.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bayou.errors import BadRequest, InternalError
from bayou.runtimes.base import Invocation, InvocationResult, RuntimeModule, SyscallHandler
from bayou.runtimes.python.process import WorkerCrashed, WorkerProcess

APP_PACKAGE: Final = "convex"
_VERSION_NAME: Final = re.compile(r"[A-Za-z0-9._-]{1,128}")
_INSIDE_CALL: ContextVar[bool] = ContextVar("bayou_python_inside_call", default=False)
_ENV_PASSED: Final = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SYSTEMROOT",
    "VIRTUAL_ENV",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


class AnalysisError(BadRequest):
    """A pushed module failed to import or defines something malformed; the message names
    the file (relative to the functions folder), the line and the fix."""

    default_code = "InvalidModules"


@dataclass(frozen=True)
class _Version:
    directory: str
    paths: tuple[str, ...]
    import_seed: int
    import_now: float


def _worker_env() -> dict[str, str]:
    """The environment of worker processes: the system basics, not the server's secrets.

    `PYTHONHASHSEED=0` makes set and dict-of-str iteration orders the same in every worker
    (query results must not depend on which worker ran them); `TZ=UTC` as in Convex.
    """
    env = {k: os.environ[k] for k in _ENV_PASSED if k in os.environ}
    package_root = str(Path(__file__).resolve().parents[3])  # the directory holding `bayou`
    existing = os.environ.get("PYTHONPATH")
    env["PYTHONPATH"] = package_root + (os.pathsep + existing if existing else "")
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    env["TZ"] = "UTC"
    return env


def _split_path(path: str) -> tuple[str, str]:
    module, sep, name = path.rpartition(":")
    if not sep:
        module, name = path, "default"
    return module.removesuffix(".js").removesuffix(".py"), name


def _safe_path(path: str) -> Path:
    parts = Path(path).parts
    if not path or Path(path).is_absolute() or any(p in ("..", "") for p in parts):
        raise BadRequest(f"Invalid module path {path!r}", code="InvalidModule")
    return Path(*parts)


class PythonRuntime:
    """The pool of Python workers behind the `Runtime` seam (see the module docstring)."""

    def __init__(
        self,
        *,
        python: str | None = None,
        max_queries: int = 16,
        max_mutations: int = 16,
        max_actions: int = 64,
        min_idle: int = 1,
        max_idle: int | None = None,
        analysis_timeout_s: float = 30.0,
        kill_grace_s: float = 0.5,
        root_dir: str | None = None,
    ) -> None:
        self.python = python or sys.executable
        self.min_idle = min_idle
        # Keep as many idle workers as calls may run at once: a smaller cap makes a steady
        # load discard workers on release and spawn (and re-import into) new ones per call.
        self.max_idle = max_idle if max_idle is not None else max(max_queries, max_mutations)
        self.analysis_timeout_s = analysis_timeout_s
        self.kill_grace_s = kill_grace_s
        self._root_arg = root_dir
        self._root: str | None = None
        self._owns_root = False
        self._limits = {"query": max_queries, "mutation": max_mutations, "action": max_actions}
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._versions: dict[str, _Version] = {}
        self._idle: list[WorkerProcess] = []
        self._busy: set[WorkerProcess] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._spawning = 0
        self._env = _worker_env()
        self._closed = False
        self.spawned = 0

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def root(self) -> str:
        """The directory holding one subdirectory of modules per loaded version."""
        if self._root is None:
            if self._root_arg is not None:
                os.makedirs(self._root_arg, exist_ok=True)
                self._root = self._root_arg
            else:
                self._root = tempfile.mkdtemp(prefix="bayou-python-")
                self._owns_root = True
        return self._root

    async def start(self) -> None:
        """Prepare the module directory and start `min_idle` workers."""
        self._closed = False
        self._slots = {kind: asyncio.Semaphore(n) for kind, n in self._limits.items()}
        _ = self.root
        for _i in range(self.min_idle - len(self._idle)):
            self._idle.append(await self._spawn())

    async def close(self) -> None:
        """Stop every worker and remove the module directory."""
        self._closed = True
        # Let spare workers finish starting (they see `_closed` and stop) and discarded
        # ones finish stopping, so that no process outlives the runtime.
        pending = list(self._background)
        if pending:
            _, late = await asyncio.wait(pending, timeout=10.0)
            for task in late:
                task.cancel()
        workers = self._idle + list(self._busy)
        self._idle, self._busy = [], set()
        await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)
        if self._owns_root and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    async def _spawn(self) -> WorkerProcess:
        self.spawned += 1
        try:
            return await WorkerProcess.spawn(self.python, self._env, self.root)
        except WorkerCrashed as e:
            raise InternalError(str(e)) from None

    # -- modules -----------------------------------------------------------------------

    async def load(
        self,
        version: str,
        modules: list[RuntimeModule],
        *,
        import_seed: int | None = None,
        import_time_ms: float | None = None,
    ) -> None:
        """Write a version's modules to `<root>/<version>/convex/` (once per version).

        `import_seed` / `import_time_ms` are what module-level code sees as its random seed
        and clock (Convex's udfConfig importPhaseRngSeed / UnixTimestamp); by default a
        seed derived from the version and the time of this load.
        """
        if version in self._versions:
            return
        if not _VERSION_NAME.fullmatch(version) or version.startswith("."):
            raise BadRequest(f"Invalid module set version {version!r}", code="InvalidModule")
        base = Path(self.root) / version
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=self.root))
        package = staging / APP_PACKAGE
        package.mkdir()
        paths = []
        for module in modules:
            rel = _safe_path(module.path)
            target = package / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(module.source, encoding="utf-8")
            paths.append(rel.as_posix())
        for directory in [package, *(p for p in package.rglob("*") if p.is_dir())]:
            init = directory / "__init__.py"
            if not init.exists():
                init.write_text("", encoding="utf-8")
        if base.exists():
            shutil.rmtree(staging, ignore_errors=True)
        else:
            staging.rename(base)
        if import_seed is None:
            import_seed = int.from_bytes(hashlib.sha256(version.encode()).digest()[:8], "big")
        if import_time_ms is None:
            import_time_ms = time.time() * 1000
        self._versions[version] = _Version(
            str(base), tuple(sorted(paths)), import_seed, import_time_ms
        )

    def _version(self, version: str) -> _Version:
        loaded = self._versions.get(version)
        if loaded is None:
            raise InternalError(f"Python module set {version} is not loaded: call load() first")
        return loaded

    async def analyze(self, version: str, *, env: dict[str, str] | None = None) -> Any:
        """What the version defines (analysis.py); `AnalysisError` when a module fails.

        `env` is the deployment's environment during the import (module-level code may
        read it); it defaults to none.
        """
        loaded = self._version(version)
        message = {
            "t": "analyze",
            "v": version,
            "dir": loaded.directory,
            "modules": list(loaded.paths),
            "env": env or {},
            "importSeed": loaded.import_seed,
            "importNow": loaded.import_now,
            "limit": self.analysis_timeout_s,
        }
        worker = await self._acquire(version)
        try:
            reply = await worker.analyze(message, self.analysis_timeout_s)
        finally:
            self._release(worker)
        if not reply.get("ok"):
            raise AnalysisError(str(reply.get("message") or "Failed to analyze the modules"))
        return reply["result"]

    # -- calls -------------------------------------------------------------------------

    async def invoke(self, call: Invocation, syscalls: SyscallHandler) -> InvocationResult:
        """Run one function call in a worker (see the module docstring)."""
        try:
            loaded = self._version(call.version)
        except InternalError as e:
            return InvocationResult(ok=False, error_message=f"Uncaught Error: {e}")
        module, name = _split_path(call.path)
        message = {
            "t": "call",
            "v": call.version,
            "dir": loaded.directory,
            "kind": call.udf_type,
            "module": module,
            "name": name,
            "args": call.args_json,
            "env": call.env,
            "seed": call.seed,
            "now": call.now_ms,
            "tables": call.table_numbers,
            "rid": call.request_id,
            "limit": call.limit_s,
            "importSeed": loaded.import_seed,
            "importNow": loaded.import_now,
        }
        nested = _INSIDE_CALL.get()
        slot = None if nested or not self._slots else self._slots[call.udf_type]
        if slot is not None:
            await slot.acquire()
        token = _INSIDE_CALL.set(True)
        try:
            worker = await self._acquire(call.version)
            try:
                return await worker.run(call, syscalls, message, self.kill_grace_s)
            finally:
                self._release(worker)
        finally:
            _INSIDE_CALL.reset(token)
            if slot is not None:
                slot.release()

    # -- the pool ----------------------------------------------------------------------

    async def _acquire(self, version: str) -> WorkerProcess:
        idle = self._idle
        while idle and not idle[-1].alive:
            idle.pop()
        chosen = next((w for w in reversed(idle) if w.version == version and w.alive), None)
        if chosen is None:
            chosen = next((w for w in reversed(idle) if w.alive), None)
        if chosen is not None:
            idle.remove(chosen)
        self._top_up()
        if chosen is None:
            chosen = await self._spawn()
        chosen.version = version
        self._busy.add(chosen)
        return chosen

    def _release(self, worker: WorkerProcess) -> None:
        self._busy.discard(worker)
        if self._closed or not worker.alive or len(self._idle) >= self.max_idle:
            self._discard(worker)
        else:
            self._idle.append(worker)
        self._top_up()

    def _discard(self, worker: WorkerProcess) -> None:
        if worker.killed or worker.process.returncode is not None:
            self._in_background(worker.wait())
        else:
            self._in_background(worker.close())

    def _top_up(self) -> None:
        """Keep `min_idle` spare workers ready (started in the background), so that a burst
        of calls does not wait for processes to start."""
        while not self._closed and len(self._idle) + self._spawning < self.min_idle:
            self._spawning += 1
            self._in_background(self._replenish())

    async def _replenish(self) -> None:
        try:
            worker = await self._spawn()
        except InternalError:
            return
        finally:
            self._spawning -= 1
        if self._closed:
            await worker.close()
        else:
            self._idle.append(worker)

    def _in_background(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def workers(self) -> int:
        """How many worker processes are running (idle and busy)."""
        return len(self._idle) + len(self._busy)
