"""The composition root: owns and starts the parts, wires them together; no logic of its own.

Backend(settings) → credentials → persistence → Database → files (blob store, fingerprint)
                  → runtimes → FunctionRunner
                  → the deployed code and environment variables (in-memory snapshots)
                  → SyncManager (sessions and the shared query cache)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bayou.auth.admin_key import AdminIdentity, check_admin_key
from bayou.auth.credentials import InstanceCredentials, load_or_create
from bayou.auth.keys import derive_key
from bayou.auth.user_tokens import UserTokenVerifier
from bayou.config import Settings
from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.database.transaction import Transaction
from bayou.errors import BayouError
from bayou.files.service import FileStorage, blob_store_for
from bayou.model import deployment as deployment_model
from bayou.model import env_vars
from bayou.model.deployment import Deployment
from bayou.model.maintenance import Maintenance
from bayou.model.system_tables import SYSTEM_TABLES
from bayou.persistence import open_persistence
from bayou.runner.function_runner import FunctionRunner, Limits
from bayou.runner.logs import FunctionLogs
from bayou.runner.metrics import Metrics
from bayou.runner.metrics_history import MetricsHistory
from bayou.runner.system_functions import SystemFunctions
from bayou.runtimes.base import Runtime, UnavailableRuntime
from bayou.scheduler import Scheduler
from bayou.snapshots.backups import Backups, backup_bucket
from bayou.snapshots.service import Snapshots, bucket_store
from bayou.sync.limits import SyncLimits
from bayou.sync.manager import SyncManager

log = logging.getLogger("bayou")

RuntimeFactory = Callable[[Settings], dict[str, Runtime]]


def default_runtimes(settings: Settings) -> dict[str, Runtime]:
    runtimes: dict[str, Runtime] = {}
    try:
        from bayou.runtimes.js import JsRuntime

        # Workers may never be granted the data directory (credentials, database, files).
        runtimes["js"] = JsRuntime(
            max_context_uses=1 if settings.js_fresh_context else 0,
            max_concurrent_queries=settings.max_concurrent_queries,
            max_concurrent_mutations=settings.max_concurrent_mutations,
            private_dirs=[str(settings.data_dir)],
        )
    except ImportError:
        log.warning("the JavaScript runtime is not available")
    try:
        from bayou.runtimes.python.host import PythonRuntime

        runtimes["python"] = PythonRuntime(
            private_dirs=[str(settings.data_dir)],
            max_queries=settings.max_concurrent_queries,
            max_mutations=settings.max_concurrent_mutations,
        )
    except ImportError:
        log.warning("the Python runtime is not available")
    return runtimes


class Backend:
    """One running deployment. `await start()`, use, `await stop()`; may run twice in a test."""

    def __init__(
        self,
        settings: Settings,
        *,
        runtimes: RuntimeFactory = default_runtimes,
        sync_limits: SyncLimits | None = None,
    ) -> None:
        self.settings = settings
        self._runtime_factory = runtimes
        self._sync_limits = sync_limits
        self.credentials: InstanceCredentials | None = None
        self.db: Database | None = None
        self.runtimes: dict[str, Runtime] = {}
        self.runner: FunctionRunner | None = None
        self.sync: SyncManager | None = None
        self.maintenance: Maintenance | None = None
        self.scheduler: Scheduler | None = None
        self.files: FileStorage | None = None
        self.snapshots: Snapshots | None = None
        self.backups: Backups | None = None
        self.logs = FunctionLogs()
        self.metrics = Metrics()
        self.logs.observers.append(self.metrics.observe_call)
        self.metrics_history = MetricsHistory(self.metrics)  # the Health page's last hour
        self.deployment = Deployment()
        self.environment: dict[str, str] = {}
        # What functions see: the variables plus the deployment's own origins.
        self.function_environment: dict[str, str] = {}
        # User JWTs, checked against the deployed auth config (its keys cached across calls).
        self.user_tokens = UserTokenVerifier(
            lambda: self.deployment.auth_providers,
            redact=lambda: settings.redact_logs_to_client,
        )
        self.started = False

    async def start(self) -> None:
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.credentials = load_or_create(
            s.data_dir, name=s.instance_name, secret_hex=s.instance_secret
        )
        persistence = open_persistence(
            data_dir=s.data_dir,
            postgres_url=s.postgres_url,
            instance_name=self.credentials.name,
            require_ssl=not s.do_not_require_ssl,
        )
        self.db = await Database.open(
            persistence,
            cursor_key=derive_key(self.credentials.secret, "bayou cursor", 32),
            system_tables=SYSTEM_TABLES,
        )
        self.db.committer.observers.append(self.metrics.observe_batch)
        # Before the runtimes: a store that is unusable, or not the one this database's
        # files live in, stops the start at once (files.fingerprint).
        self.files = FileStorage(
            self.db,
            blob_store_for(s),
            secret=self.credentials.secret,
            instance_name=self.credentials.name,
            origin=s.api_origin,
        )
        await self.files.start()
        self.snapshots = Snapshots(
            self.db,
            self.files,
            s.data_dir,
            components=lambda: self.deployment.components,
            exports_store=bucket_store(s, s.s3_storage_exports_bucket),
            imports_store=bucket_store(s, s.s3_storage_snapshot_imports_bucket),
        )
        await self.snapshots.start()
        self.backups = Backups(
            self.snapshots,
            Path(s.backup_dir) if s.backup_dir else s.data_dir / "backups",
            schedule=s.backup_schedule,
            keep=s.backup_keep,
            bucket=backup_bucket(s),
        )
        tx = self.db.begin(read_only=True)
        self.deployment = await deployment_model.load(tx)
        self.set_environment(await env_vars.load(tx))
        self.runtimes = self._runtime_factory(s)
        # Together: each waits for its worker processes to say they are ready.
        await asyncio.gather(*(self._start_runtime(name) for name in list(self.runtimes)))
        self.runner = self._function_runner()
        self.sync = SyncManager(
            self.db, self.runner, limits=self._sync_limits, redact=s.redact_logs_to_client
        )
        self.maintenance = Maintenance(self.db)
        self.maintenance.start()
        self.scheduler = Scheduler(self.db, self.runner)
        self.scheduler.start()
        self.metrics_history.start(self.db)
        await self.backups.start()
        self.started = True

    def _function_runner(self) -> FunctionRunner:
        """The runner over this backend's database, runtimes and files (once they exist)."""
        assert self.db is not None
        s = self.settings
        return FunctionRunner(
            self.db,
            self.runtimes,
            deployment=lambda: self.deployment,
            environment=lambda: self.function_environment,
            logs=self.logs,
            limits=Limits(s.query_timeout, s.query_timeout, s.action_timeout),
            system_functions=SystemFunctions(self.db, cloud_url=s.api_origin),
            files=self.files,
            read_ahead=s.read_ahead,
        )

    async def _start_runtime(self, name: str) -> None:
        try:
            await self.runtimes[name].start()
        except BayouError as e:  # e.g. no Node.js: the other language still works
            log.warning("the %s runtime is unavailable: %s", name, e.message)
            self.runtimes[name] = UnavailableRuntime(e.message)

    async def stop(self) -> None:
        await self.metrics_history.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.maintenance is not None:
            await self.maintenance.stop()
        if self.backups is not None:
            await self.backups.stop()
        if self.snapshots is not None:
            await self.snapshots.stop()
        if self.sync is not None:
            await self.sync.close()
        for runtime in self.runtimes.values():
            try:
                await runtime.close()
            except Exception:  # shutting down: report, keep closing the rest
                log.exception("closing a runtime failed")
        if self.files is not None:
            await self.files.stop()
        await self.user_tokens.aclose()
        if self.db is not None:
            await self.db.close()
        self.started = False

    # -- what the API layers ask of the backend -----------------------------------------

    @property
    def instance_name(self) -> str:
        assert self.credentials is not None
        return self.credentials.name

    def check_admin_key(self, key: str) -> AdminIdentity:
        assert self.credentials is not None
        return check_admin_key(
            key, self.credentials.name, [self.credentials.secret], data_dir=self.settings.data_dir
        )

    async def update_environment(self, changes: list[tuple[str, str | None]]) -> dict[str, str]:
        """Apply env-var changes in one commit and switch the in-memory snapshot."""
        assert self.db is not None

        async def apply(tx: Transaction) -> dict[str, str]:
            return await env_vars.apply_changes(tx, changes)

        result, _ = await run_transaction(self.db, apply)
        self.set_environment(result)
        if self.sync is not None:
            self.sync.code_changed()  # subscriptions re-run with the new variables
        return result

    def set_environment(self, variables: dict[str, str]) -> None:
        """Switch to new deployment variables; functions also see `CONVEX_CLOUD_URL` and
        `CONVEX_SITE_URL`, the deployment's public origins, as on Convex."""
        self.environment = variables
        self.function_environment = {
            **variables,
            "CONVEX_CLOUD_URL": self.settings.api_origin,
            "CONVEX_SITE_URL": self.settings.http_origin,
        }

    def activate(self, deployment: Deployment) -> None:
        """Switch new calls to a freshly committed deployment (calls in flight keep theirs)."""
        self.deployment = deployment
        if self.sync is not None:
            self.sync.code_changed()  # subscriptions re-run on the new code, sessions stay

    def status(self) -> dict[str, Any]:
        db = self.db
        return {
            "instance": self.credentials.name if self.credentials else None,
            "database": db.persistence.description if db else None,
            "files": self.files.description if self.files else None,
            "latestTs": db.latest_ts if db else None,
            "deployment": self.deployment.version,
        }
