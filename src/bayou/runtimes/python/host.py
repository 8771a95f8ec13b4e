"""`PythonRuntime`: the core's `Runtime` for functions written in Python.

    runtime = PythonRuntime()
    await runtime.start()
    await runtime.load(version, modules)          # write the modules to a per-version dir
    analysis = await runtime.analyze(version)     # {"modules", "schema", …} (analysis.py)
    result = await runtime.invoke(call, syscalls) # run one function in a worker process

Two pools of worker processes (`python -m bayou.runtimes.python.worker`, pool.py) run the
calls, one call per worker at a time, preferring a worker that already imported the
call's version: one for queries, mutations and analysis, one for actions (HTTP actions
too), because their workers are confined differently by the OS (`bayou.runtimes.
confinement`, applied by each worker before it imports user code, and irreversible):
  queries and mutations   no network, no new process, no file written, nothing read but
                          Python's own files and the app's modules;
  actions                 the network, processes, and a private temporary directory.
Both get a minimal environment, an unprivileged user (when the server is root and
Python is readable by it), an address-space cap (a `MemoryError` fails the call with an
out-of-memory error and replaces the worker) and die with the server. `min_idle` spare
query workers are kept started (one action worker), at most `max_idle` idle ones per pool
(by default as many as queries or mutations may run at once).
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
import compileall
import hashlib
import os
import re
import shutil
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bayou.errors import BadRequest, InternalError
from bayou.runtimes.base import Invocation, InvocationResult, RuntimeModule, SyscallHandler
from bayou.runtimes.confinement import POLICY_VARIABLE, Policy
from bayou.runtimes.confiner import Confiner, worker_environment
from bayou.runtimes.python.pool import WorkerPool
from bayou.runtimes.python.process import WorkerProcess
from bayou.runtimes.slots import WAIT_LIMIT_S, Slots

APP_PACKAGE: Final = "convex"
_VERSION_NAME: Final = re.compile(r"[A-Za-z0-9._-]{1,128}")
_INSIDE_CALL: ContextVar[bool] = ContextVar("bayou_python_inside_call", default=False)
_ENV_PASSED: Final = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "SYSTEMROOT", "VIRTUAL_ENV")
_NETWORK_ENV: Final = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
# The address-space cap of a worker.
DEFAULT_MEMORY_LIMIT_BYTES: Final = 4 << 30


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


_PACKAGE_ROOT: Final = str(Path(__file__).resolve().parents[3])  # the directory of `bayou`


def _worker_env(*, network: bool, home: str, policy: Policy | None) -> dict[str, str]:
    """The environment of worker processes: the system basics, not the server's secrets.

    `PYTHONHASHSEED=0` makes set and dict-of-str iteration orders the same in every worker
    (query results must not depend on which worker ran them); `TZ=UTC` as in Convex.
    """
    existing = os.environ.get("PYTHONPATH")
    extra = {
        "PYTHONPATH": _PACKAGE_ROOT + (os.pathsep + existing if existing else ""),
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",  # the host compiles the modules (load)
        "TZ": "UTC",
        "HOME": home,
        "TMPDIR": home,
    }
    if policy is not None:
        extra[POLICY_VARIABLE] = policy.to_json()
    return worker_environment(_ENV_PASSED + (_NETWORK_ENV if network else ()), extra)


def python_files(python: str) -> list[str]:
    """What a Python worker reads besides the system's: the interpreter's installation,
    its libraries (the virtualenv's too) and Bayou itself."""
    paths = sysconfig.get_paths()
    found = [
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        *(paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")),
        _PACKAGE_ROOT,
        *(os.environ.get("PYTHONPATH") or "").split(os.pathsep),
        # Not the server's own directory ("" or its cwd): a data directory may be there.
        *(p for p in sys.path if p and os.path.abspath(p) != os.getcwd()),
    ]
    return [p for p in dict.fromkeys(found) if p and os.path.exists(p)]


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
        confine: bool = True,
        private_dirs: Sequence[str] = (),
        memory_limit_bytes: int = DEFAULT_MEMORY_LIMIT_BYTES,
        testing: bool = False,
        slot_wait_s: float | None = WAIT_LIMIT_S,
    ) -> None:
        """`slot_wait_s`: how long a query or mutation waits for one of its kind's slots
        before it is refused (`slots.py`). `confine`: confine the workers by the OS where it can; `private_dirs` (the
        data directory) stay unreadable to them even when a directory above is granted;
        `memory_limit_bytes`: each worker's address-space cap; `testing`: for the test
        harness (`bayou.testing`), actions see the invocation's clock (a fake one) frozen,
        as queries and mutations do, and their HTTP requests go to the harness's stubs
        (`stubbed_network`) instead of the network."""
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
        self._slots: dict[str, Slots] = {}
        self._versions: dict[str, _Version] = {}
        self._confine = confine
        self._private_dirs = tuple(private_dirs)
        self._memory_limit_bytes = memory_limit_bytes
        self.testing = testing
        self.slot_wait_s = slot_wait_s
        self._tmp: str | None = None
        self.confiner: Confiner | None = None
        self._pools: dict[str, WorkerPool] = {}
        self._closed = False

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
        """Prepare the module directory and the confinement, start `min_idle` workers."""
        self._closed = False
        self._slots = {
            kind: Slots(n, kind, None if kind == "action" else self.slot_wait_s)
            for kind, n in self._limits.items()
        }
        if not self._pools:
            self._pools = self._make_pools()
        await asyncio.gather(*(pool.start() for pool in self._pools.values()))

    def _make_pools(self) -> dict[str, WorkerPool]:
        root = self.root
        confiner = Confiner(
            self.python,
            python_files(self.python),
            private=self._private_dirs,
            memory_bytes=self._memory_limit_bytes,
            enabled=self._confine,
        )
        self.confiner = confiner
        confiner.own(root)
        self._tmp = tempfile.mkdtemp(prefix="bayou-python-tmp-")
        confiner.own(self._tmp, writable=True)
        udf = confiner.policy(
            "Python queries and mutations",
            network=False,
            processes=False,
            read=[root],
            exec_after_start=False,
        )
        action = confiner.policy(
            "Python actions", network=True, processes=True, read=[root], write=[self._tmp]
        )
        udf_env = _worker_env(network=False, home=root, policy=udf)
        action_env = _worker_env(network=True, home=self._tmp, policy=action)
        if self.testing:
            from bayou.runtimes.python import stubbed_network

            action_env[stubbed_network.ENV_FLAG] = "1"
        return {
            "udf": WorkerPool(
                lambda: WorkerProcess.spawn(self.python, udf_env, root),
                min_idle=self.min_idle,
                max_idle=self.max_idle,
            ),
            "action": WorkerPool(
                lambda: WorkerProcess.spawn(self.python, action_env, root),
                min_idle=min(self.min_idle, 1),
                # Keep what a burst of actions (HTTP actions under load) started: a new
                # process costs far more than the call.
                max_idle=max(self.max_idle, self._limits["action"]),
            ),
        }

    async def close(self) -> None:
        """Stop every worker and remove the module directory."""
        self._closed = True
        await asyncio.gather(*(pool.close() for pool in self._pools.values()))
        self._pools = {}  # a restart builds them anew (new directories, new policies)
        if self._owns_root and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

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
        # Compiled here, once: the workers may write nothing (and need not compile).
        compileall.compile_dir(str(package), quiet=2, workers=1)
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
        pool = self._pool("udf")
        worker = await pool.acquire(version)
        try:
            reply = await worker.analyze(message, self.analysis_timeout_s)
        finally:
            pool.release(worker)
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
        if call.defer_writes:
            message["dw"] = 1
        if call.read_ahead:
            message["pre"] = call.read_ahead
        if self.testing:
            message["frozenClock"] = True
        nested = _INSIDE_CALL.get()
        slot = None if nested or not self._slots else self._slots[call.udf_type]
        if slot is not None:
            await slot.acquire(urgent=call.urgent)
        token = _INSIDE_CALL.set(True)
        pool = self._pool("action" if call.udf_type == "action" else "udf")
        try:
            worker = await pool.acquire(call.version)
            try:
                return await worker.run(call, syscalls, message, self.kill_grace_s)
            finally:
                pool.release(worker)
        finally:
            _INSIDE_CALL.reset(token)
            if slot is not None:
                slot.release()

    # -- the pools ---------------------------------------------------------------------

    def _pool(self, kind: str) -> WorkerPool:
        if not self._pools:
            raise InternalError("The Python runtime is not running (call start())")
        return self._pools[kind]

    @property
    def workers(self) -> int:
        """How many worker processes are running (idle and busy)."""
        return sum(len(pool.workers) for pool in self._pools.values())

    @property
    def spawned(self) -> int:
        """How many worker processes were started so far."""
        return sum(pool.spawned for pool in self._pools.values())

    def worker_pids(self) -> dict[str, list[int]]:
        """Process ids of the running workers, by pool ("udf", "action")."""
        return {kind: [w.process.pid for w in pool.workers] for kind, pool in self._pools.items()}
