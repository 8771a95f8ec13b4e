"""The backend of one test: the real database, runner, push pipeline and scheduler of
`bayou serve`, on memory persistence and a memory blob store, with a fake clock.

    session = HarnessSession()                      # one per test session: worker processes
    backend = TestBackend(session, app_source)      # one per test
    await backend.start()                           # pushes the app as `bayou deploy` does

What is real: `FunctionRunner` (argument and return validation, transactions, OCC retries,
nested calls, error texts), `PushPipeline` (analysis, schema, indexes, crons), the
database (schema enforcement, indexes, pagination), `JobRunner` and `CronRunner`, and the
Python worker processes with their sandbox. What differs from a server: no HTTP and no
sync sessions (functions are called directly), persistence and files in memory, the
clock is `FakeClock`, the scheduler runs only when the test says so (`run_scheduled`,
`advance`), and actions' HTTP goes to the test's stubs.

The worker processes are shared by every test of a session (a process costs ~0.1 s to
start); each test gets its own database, so tests never see each other's data.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import importlib.metadata
import re
import secrets
from pathlib import Path
from typing import Any

from bayou import __version__
from bayou.auth.credentials import InstanceCredentials
from bayou.backend import Backend
from bayou.blobs.memory import MemoryBlobStore
from bayou.config import Settings
from bayou.database.database import Database
from bayou.deploy.push import PushPipeline
from bayou.errors import BayouError
from bayou.files.service import FileStorage
from bayou.model.system_tables import SYSTEM_TABLES
from bayou.persistence.memory import MemoryPersistence
from bayou.runtimes.base import Invocation, InvocationResult, RuntimeModule, SyscallHandler
from bayou.runtimes.python.host import PythonRuntime
from bayou.runtimes.python.stubbed_network import FETCH_SYSCALL
from bayou.scheduler.crons import CronRunner
from bayou.scheduler.jobs import JobRunner
from bayou.testing.app import AppError, AppSource
from bayou.testing.clock import FakeClock
from bayou.testing.fetch import FetchStubs

ORIGIN = "http://127.0.0.1:3210"
SITE_ORIGIN = "http://127.0.0.1:3211"
_REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


class HarnessSession:
    """What the tests of one session share: the Python worker processes and the analysis
    of each version of the app (a version is a hash of its modules)."""

    def __init__(self, *, confine: bool = True) -> None:
        self.runtime = PythonRuntime(min_idle=1, max_idle=4, confine=confine, testing=True)
        self.analyses: dict[tuple[str, str], Any] = {}
        self.started = False

    async def start(self) -> None:
        if not self.started:
            await self.runtime.start()
            self.started = True

    async def close(self) -> None:
        if self.started:
            await self.runtime.close()
            self.started = False


class _Syscalls:
    """The runner's syscall handler, plus the harness's own `bayou/testing/fetch`."""

    def __init__(self, inner: SyscallHandler, stubs: FetchStubs) -> None:
        self.inner = inner
        self.stubs = stubs

    async def async_syscall(self, op: str, args: Any) -> Any:
        if op == FETCH_SYSCALL:
            return self.stubs.answer(args)
        return await self.inner.async_syscall(op, args)


class HarnessRuntime:
    """The session's `PythonRuntime` as one test backend sees it: calls carry the test's
    clock and a seed derived from the test (reruns see the same randomness), analyses are
    cached per version, and starting or closing it leaves the shared workers alone."""

    def __init__(self, session: HarnessSession, backend: TestBackend) -> None:
        self.session = session
        self.backend = backend
        self._calls = 0

    async def start(self) -> None:
        await self.session.start()

    async def close(self) -> None:
        return None

    async def load(self, version: str, modules: list[RuntimeModule], **options: Any) -> None:
        await self.session.runtime.load(version, modules, **options)

    async def analyze(self, version: str, *, env: dict[str, str] | None = None) -> Any:
        key = (version, repr(sorted((env or {}).items())))
        cached = self.session.analyses.get(key)
        if cached is None:
            cached = await self.session.runtime.analyze(version, env=env)
            self.session.analyses[key] = cached
        return cached

    async def invoke(self, call: Invocation, syscalls: SyscallHandler) -> InvocationResult:
        self._calls += 1
        seed = hashlib.sha256(f"{self.backend.seed}:{self._calls}".encode()).digest()
        call = dataclasses.replace(
            call, now_ms=self.backend.clock.ms, seed=int.from_bytes(seed[:8], "big") >> 1
        )
        return await self.session.runtime.invoke(call, _Syscalls(syscalls, self.backend.stubs))


class TestBackend(Backend):
    """One test's deployment (see the module docstring)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        session: HarnessSession,
        app: AppSource,
        *,
        env: dict[str, str] | None = None,
        seed: str = "",
        query_timeout_s: float = 1.0,
        action_timeout_s: float = 600.0,
    ) -> None:
        settings = Settings(
            data_dir=Path("/nonexistent/bayou-testing"),  # never created: all in memory
            cloud_origin=ORIGIN,
            site_origin=SITE_ORIGIN,
            query_timeout=query_timeout_s,
            action_timeout=action_timeout_s,
        )
        super().__init__(settings, runtimes=lambda s: {"python": HarnessRuntime(session, self)})
        self.session = session
        self.app = app
        self.clock = FakeClock()
        self.stubs = FetchStubs()
        self.seed = seed or secrets.token_hex(8)
        self.log_cursor = 0.0  # ConvexTest.logs: entries after this one
        self.jobs: JobRunner | None = None
        self.crons: CronRunner | None = None
        self.push_pipeline: PushPipeline | None = None
        self.set_environment(dict(env or {}))

    async def start(self) -> None:
        """Open the database, start the parts, push the app (`AppError` when it fails)."""
        check_requirements(self.app)
        s = self.settings
        self.credentials = InstanceCredentials("bayou-test", secrets.token_bytes(32))
        self.db = await Database.open(
            MemoryPersistence(),
            cursor_key=secrets.token_bytes(32),
            system_tables=SYSTEM_TABLES,
            clock=self.clock.time_ns,
        )
        self.files = FileStorage(
            self.db,
            MemoryBlobStore(),
            secret=self.credentials.secret,
            instance_name=self.credentials.name,
            origin=s.api_origin,
            clock=self.clock.time,
        )
        await self.files.start()
        self.runtimes = self._runtime_factory(s)
        await self.runtimes["python"].start()
        self.runner = self._function_runner()
        # Not started: they run when the test runs them (TestBackend.run_due).
        self.jobs = JobRunner(self.db, self.runner, clock=self.clock.time)
        self.crons = CronRunner(self.db, self.runner, clock=self.clock.time)
        self.push_pipeline = PushPipeline(self)
        self.started = True
        await self.push()

    async def stop(self) -> None:
        for runner in (self.jobs, self.crons):
            if runner is not None:
                await runner.stop()
        if self.files is not None:
            await self.files.stop()
        if self.db is not None:
            await self.db.close()
        self.started = False

    async def push(self) -> None:
        """Push the app's modules, as `bayou deploy` does (start, schema, finish)."""
        assert self.push_pipeline is not None
        request = {
            "appDefinition": {
                "definition": None,
                "dependencies": [],
                "schema": None,
                "changedModules": [m.to_push() for m in self.app.modules],
                "unchangedModuleHashes": [],
                "udfServerVersion": __version__,
            },
            "componentDefinitions": [],
            "nodeDependencies": [],
        }
        try:
            start = await self.push_pipeline.start_push(request)
            status = await self.push_pipeline.wait_for_schema(
                {"schemaChange": start["schemaChange"], "timeoutMs": 60_000}
            )
            if status.get("type") == "failed":
                raise AppError(f"The schema does not fit the data: {status.get('error')}")
            await self.push_pipeline.finish_push({"startPush": start, "dryRun": False})
        except BayouError as error:
            raise AppError(self._where(error.message)) from None

    def _where(self, message: str) -> str:
        """Analysis names files relative to the functions folder; name them as the test's
        reader finds them (`convex/messages.py`)."""
        folder = self.app.folder.name
        message = message.replace(
            "Loading the pushed modules encountered the following error:\n", ""
        )
        return re.sub(r'File "(?!/)([^"]+\.py)"', rf'File "{folder}/\1"', message)

    async def run_due(self) -> int:
        """Run every scheduled function and cron due by the clock, and the ones those
        schedule that are due too, until nothing is; the number of runs started."""
        assert self.jobs is not None and self.crons is not None
        started = 0
        while True:
            for runner in (self.jobs, self.crons):
                before = set(runner.running)
                await runner.tick()
                started += len(set(runner.running) - before)
            running = [*self.jobs.running.values(), *self.crons.running.values()]
            if not running:
                return started
            await asyncio.gather(*running, return_exceptions=True)


def check_requirements(app: AppSource) -> None:
    """`requirements.txt` beside the functions folder: every package it names must be
    installed in this Python (functions run with its packages; nothing is installed)."""
    missing = []
    for requirement in app.requirements():
        match = _REQUIREMENT_NAME.match(requirement)
        if match is None:
            continue
        try:
            importlib.metadata.distribution(match.group(0))
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement)
    if missing:
        file = app.folder.parent / "requirements.txt"
        raise AppError(
            f"{file} asks for {', '.join(missing)}, not installed in this Python: functions "
            "run with the packages of the Python that runs Bayou, which installs none itself. "
            f"Install them: pip install -r {file}"
        )
