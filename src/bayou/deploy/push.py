"""The push pipeline behind `npx convex deploy` / `dev` (deploy2 protocol, js-compat.md §1).

    start_push      assemble modules (changed ones sent, unchanged ones from `_modules` by
                    hash), load and analyze them in the runtime, start the schema change
                    (pending schema, index backfill, validation). Nothing visible changes:
                    `npx convex codegen` calls only this.
    wait_for_schema report backfill and validation progress (long poll)
    finish_push     in ONE commit: modules, deployment config, schema activation, indexes;
                    then new calls use the new code while calls in flight finish on the old.

A push that fails — bad schema, documents that violate it, a module that throws at
import — changes nothing and says why.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.database.schema import DatabaseSchema
from bayou.database.schema_change import (
    SchemaChange,
    complete_backfills,
    finish_schema_change,
    start_schema_change,
)
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest, BayouError
from bayou.model import cron_jobs
from bayou.model import deployment as deployment_model
from bayou.model import modules as modules_model
from bayou.model.deployment import Deployment
from bayou.model.modules import Module
from bayou.protocol.function_path import FunctionPath
from bayou.runner.function_runner import FunctionRunner
from bayou.runtimes.base import Runtime, RuntimeModule
from bayou.scheduler import cron_schedule


class PushHost(Protocol):
    """What the pipeline needs of the backend that owns it."""

    db: Database | None
    runtimes: dict[str, Runtime]
    runner: FunctionRunner | None
    deployment: Deployment
    # What functions see of the environment: module top levels and auth.config read it.
    function_environment: dict[str, str]

    def activate(self, deployment: Deployment) -> None: ...


PENDING_TTL_S = 3600

log = logging.getLogger("bayou.deploy.push")


@dataclass
class PendingPush:
    id: str
    modules: list[Module]
    deployment: Deployment
    schema: DatabaseSchema | None
    change: SchemaChange | None
    created: float = field(default_factory=time.monotonic)


class PushPipeline:
    """Pending pushes between start_push and finish_push, for one backend."""

    def __init__(self, backend: PushHost) -> None:
        self.backend = backend
        self._pending: dict[str, PendingPush] = {}
        self._lock = asyncio.Lock()  # one finish at a time

    # -- get_config_hashes -------------------------------------------------------------

    def config_hashes(self) -> dict[str, Any]:
        d = self.backend.deployment
        return {
            "config": {"functions": "convex/", "authInfo": list(d.auth_providers)},
            "moduleHashes": [
                {"path": m.path, "hash": m.hash, "environment": m.environment} for m in d.modules
            ],
            "udfServerVersion": d.udf_server_version,
            "nodeVersion": d.node_version,
        }

    # -- start_push ----------------------------------------------------------------------

    async def start_push(self, request: dict[str, Any]) -> dict[str, Any]:
        self._expire()
        app = request.get("appDefinition")
        if not isinstance(app, dict):
            raise BadRequest("start_push needs an `appDefinition`", code="InvalidPush")
        if request.get("componentDefinitions"):
            raise BadRequest(
                "This app uses components (convex.config.ts with app.use(...)); Bayou does not "
                "support components yet.",
                code="ComponentsNotSupported",
            )
        _refuse_external_packages(request.get("nodeDependencies"))
        modules = self._assemble(app)
        # schema.js and convex.config.js are modules like the others: analysis evaluates them.
        for extra in (app.get("schema"), app.get("definition")):
            if extra:
                module = Module.from_push(extra)
                modules = [m for m in modules if m.path != module.path] + [module]
        backend = self.backend
        language = "python" if any(m.environment == "python" for m in modules) else "js"
        runtime = backend.runtimes.get(language)
        if runtime is None:
            raise BadRequest(f"No {language} runtime is available", code="InternalServerError")
        version = modules_model.version_of(modules)
        await runtime.load(
            version, [RuntimeModule(m.path, m.source, m.source_map, m.environment) for m in modules]
        )
        try:
            analyzed = await runtime.analyze(version, env=backend.function_environment)
        except BayouError:
            raise
        except Exception as e:  # the runtime reports user errors as exceptions with messages
            # Convex's code and wording for a module that fails to load (the CLI prints it).
            raise BadRequest(
                f"Loading the pushed modules encountered the following error:\n{e}",
                code="InvalidModules",
            ) from None
        analysis: dict[str, Any] = analyzed.to_json() if hasattr(analyzed, "to_json") else analyzed
        schema_json = analysis.get("schema")
        schema = DatabaseSchema.from_json(schema_json) if schema_json is not None else None
        deployment = Deployment.build(
            modules,
            dict(analysis.get("modules") or {}),
            language=language,
            auth_providers=_auth_providers(analysis.get("authConfig")),
            udf_server_version=app.get("udfServerVersion"),
            node_version=request.get("nodeVersion"),
            pushed_at_ms=time.time() * 1000,
        )
        _check_crons(deployment)
        # Calls to the new deployment find its modules already loaded in the runtime.
        backend.runner.mark_loaded(language, deployment.version)  # type: ignore[union-attr]
        change = None
        dry = bool(request.get("dryRun")) or bool(request.get("forCodegen"))
        if schema is not None and not dry:
            change = await start_schema_change(backend.db, schema.source)  # type: ignore[arg-type]
        push = PendingPush(secrets.token_hex(12), modules, deployment, schema, change)
        self._pending[push.id] = push
        return self._start_response(push, analysis, app)

    def _assemble(self, app: dict[str, Any]) -> list[Module]:
        changed = [Module.from_push(m) for m in app.get("changedModules") or []]
        stored = {(m.path, m.hash): m for m in self.backend.deployment.modules}
        out = {m.path: m for m in changed}
        for ref in app.get("unchangedModuleHashes") or []:
            key = (ref.get("path"), ref.get("sha256"))
            module = stored.get(key)
            if module is None:
                raise BadRequest(
                    f"Module {key[0]} (sha256 {key[1]}) is not stored on this deployment: push "
                    "again (or with --push-all-modules).",
                    code="ModuleNotFound",
                )
            out[module.path] = module
        return sorted(out.values(), key=lambda m: m.path)

    def _start_response(
        self, push: PendingPush, analysis: dict[str, Any], app: dict[str, Any]
    ) -> dict[str, Any]:
        d = push.deployment
        index_diff = (
            push.change.index_diff()
            if push.change
            else {"added_indexes": [], "removed_indexes": []}
        )
        return {
            "environmentVariables": {},
            "externalDepsId": None,
            "componentDefinitionPackages": {},
            "appAuth": list(d.auth_providers),
            "analysis": {
                "": {
                    "definition": {
                        "path": "",
                        "definitionType": {"type": "app"},
                        "childComponents": [],
                        "httpMounts": {},
                        "exports": {"type": "branch", "branch": []},
                    },
                    "schema": push.schema.source if push.schema else None,
                    "functions": {
                        path: {
                            # The CLI's schema knows Query, Mutation and Action only.
                            "functions": [
                                f
                                for f in info.get("functions") or []
                                if f.get("udfType") in ("Query", "Mutation", "Action")
                            ],
                            "httpRoutes": info.get("httpRoutes"),
                            "cronSpecs": info.get("cronSpecs"),
                            "sourceMapped": info.get("sourceMapped"),
                        }
                        for path, info in d.analysis.items()
                    },
                    "udfConfig": {
                        "serverVersion": app.get("udfServerVersion") or "1.0.0",
                        "importPhaseRngSeed": _seed(d.version),
                        "importPhaseUnixTimestamp": {"secs": int(time.time()), "nanos": 0},
                    },
                }
            },
            "app": {
                "definitionPath": "",
                "componentPath": "",
                "args": {},
                "childComponents": {},
                "httpRoutes": {"httpModuleRoutes": None, "mounts": []},
                "exports": {},
            },
            "schemaChange": {
                "allocatedComponentIds": {},
                "schemaIds": {"": push.id},
                "indexDiffs": {"": index_diff},
            },
            "bayouPushId": push.id,
        }

    # -- wait_for_schema -----------------------------------------------------------------

    async def wait_for_schema(self, request: dict[str, Any]) -> dict[str, Any]:
        push = self._push_of(request.get("schemaChange") or {})
        if push is None:
            return {"type": "raceDetected"}
        change = push.change
        if change is None:
            return {"type": "complete"}
        timeout = min(float(request.get("timeoutMs") or 10_000), 60_000) / 1000
        finished = await change.wait(timeout)
        if finished and change.error is not None:
            return {
                "type": "failed",
                "error": change.error,
                "componentPath": "",
                "tableName": change.table_name,
            }
        if finished:
            return {"type": "complete"}
        return {
            "type": "inProgress",
            "components": {
                "": {
                    "schemaValidationComplete": change.validation_complete,
                    "indexesComplete": change.indexes_done,
                    "indexesTotal": change.indexes_total,
                }
            },
        }

    def _push_of(self, schema_change: dict[str, Any]) -> PendingPush | None:
        ids = schema_change.get("schemaIds") or {}
        push_id = ids.get("") if isinstance(ids, dict) else None
        return self._pending.get(push_id) if isinstance(push_id, str) else None

    # -- finish_push ---------------------------------------------------------------------

    async def finish_push(self, request: dict[str, Any]) -> dict[str, Any]:
        start = request.get("startPush") or {}
        push = self._pending.get(start.get("bayouPushId") or "") or self._push_of(
            start.get("schemaChange") or {}
        )
        if push is None:
            raise BadRequest(
                "This push is unknown to the server (it restarted, or the push expired). Push again.",
                code="RaceDetected",
            )
        backend = self.backend
        previous = backend.deployment
        if push.change is not None:
            await push.change.wait()
            if push.change.error is not None:
                raise BadRequest(push.change.error, code="SchemaValidationFailed")
        dry = bool(request.get("dryRun"))
        async with self._lock:
            if not dry:
                added, removed = await self._commit(push)
                backend.activate(push.deployment)
            else:
                old = {m.path for m in previous.modules}
                new = {m.path for m in push.modules}
                added, removed = sorted(new - old), sorted(old - new)
            self._pending.pop(push.id, None)
        diff = self._diff(previous, push, added, removed)
        if not dry:
            log.info("%s", _describe_push(push, diff))
        return diff

    async def _commit(self, push: PendingPush) -> tuple[list[str], list[str]]:
        async def write(tx: Transaction) -> tuple[tuple[list[str], list[str]], list[bytes]]:
            diff = await modules_model.replace_all(tx, push.modules)
            await deployment_model.save(tx, push.deployment)
            # The crons switch with the code, in the same commit.
            now_ms = time.time() * 1000
            await cron_jobs.sync(
                tx,
                push.deployment.crons(),
                lambda name, schedule: cron_schedule.next_run_ms(name, schedule, None, now_ms),
            )
            backfill = []
            if push.change is not None:
                backfill = await finish_schema_change(tx, push.change)
            return diff, backfill

        db = self.backend.db
        assert db is not None
        ((added, removed), backfill), _ = await run_transaction(db, write)
        await complete_backfills(db, backfill)
        return added, removed

    def _diff(
        self, previous: Deployment, push: PendingPush, added: list[str], removed: list[str]
    ) -> dict[str, Any]:
        old_crons = previous.crons()
        new_crons = push.deployment.crons()
        index_diff = (
            push.change.index_diff()
            if push.change
            else {"added_indexes": [], "removed_indexes": []}
        )
        old_auth = [_describe_provider(p) for p in previous.auth_providers]
        new_auth = [_describe_provider(p) for p in push.deployment.auth_providers]
        return {
            "authDiff": {
                "added": [p for p in new_auth if p not in old_auth],
                "removed": [p for p in old_auth if p not in new_auth],
            },
            "definitionDiffs": {},
            "componentDiffs": {
                "": {
                    "diffType": {"type": "modify" if previous.modules else "create"},
                    "moduleDiff": {"added": added, "removed": removed},
                    "udfConfigDiff": None,
                    "cronDiff": {
                        "added": sorted(set(new_crons) - set(old_crons)),
                        "updated": sorted(
                            k
                            for k in set(new_crons) & set(old_crons)
                            if new_crons[k] != old_crons[k]
                        ),
                        "deleted": sorted(set(old_crons) - set(new_crons)),
                    },
                    "indexDiff": index_diff,
                    "schemaDiff": None
                    if push.schema is None
                    else {
                        "previous_schema": None,
                        "next_schema": orjson.dumps(push.schema.source).decode(),
                    },
                }
            },
        }

    def _expire(self) -> None:
        now = time.monotonic()
        for push_id, push in list(self._pending.items()):
            if now - push.created > PENDING_TTL_S:
                if push.change is not None:
                    push.change.cancel()
                del self._pending[push_id]


def _refuse_external_packages(dependencies: Any) -> None:
    """`node.externalPackages` in convex.json: the CLI leaves those packages out of the
    bundle for the backend to install. Bayou does not install packages, so it says which
    and how to bundle them instead of failing when a function first imports one."""
    if not dependencies:
        return
    names = [
        f"{d.get('name')}@{d.get('version')}" if isinstance(d, dict) else str(d)
        for d in (dependencies if isinstance(dependencies, list) else [dependencies])
    ]
    raise BadRequest(
        'This app marks npm packages as external for its "use node" functions '
        f"(node.externalPackages in convex.json): {', '.join(names)}. Bayou does not install "
        "external packages: remove them from externalPackages so that the CLI bundles them "
        "into the push.",
        code="ExternalPackagesNotSupported",
    )


def _check_crons(deployment: Deployment) -> None:
    """Refuse a push whose crons cannot run: a schedule that does not parse, or a function
    that is not a mutation or an action of the pushed code (naming the cron)."""
    for identifier, spec in deployment.crons().items():
        cron_schedule.check(identifier, spec.get("schedule") if isinstance(spec, dict) else None)
        name = spec.get("name") if isinstance(spec, dict) else None
        try:
            function = deployment.function(FunctionPath.parse(str(name)))
        except BadRequest:
            function = None
        if function is None or function.udf_type not in ("mutation", "action"):
            raise BadRequest(
                f"Cron job {identifier!r} runs {name!r}, which is not a mutation or an action "
                "of the pushed code.",
                code="InvalidCronSchedule",
            )


def _describe_push(push: PendingPush, diff: dict[str, Any]) -> str:
    """One log line saying what a finished push changed."""
    root = diff["componentDiffs"][""]
    parts = [f"deployed {push.deployment.version[:12]} ({len(push.modules)} modules"]
    modules, crons, indexes = root["moduleDiff"], root["cronDiff"], root["indexDiff"]
    for label, names in (
        ("modules added", modules["added"]),
        ("modules removed", modules["removed"]),
        ("crons added", crons["added"]),
        ("crons changed", crons["updated"]),
        ("crons removed", crons["deleted"]),
        ("indexes added", [_index_name(i) for i in indexes.get("added_indexes") or []]),
        ("indexes removed", [_index_name(i) for i in indexes.get("removed_indexes") or []]),
        ("auth providers added", diff["authDiff"]["added"]),
        ("auth providers removed", diff["authDiff"]["removed"]),
    ):
        if names:
            parts.append(f"{label}: {', '.join(names)}")
    return "; ".join(parts) + ")"


def _index_name(index: Any) -> str:
    if isinstance(index, dict):
        return str(index.get("name") or index.get("indexDescriptor") or index)
    return str(index)


def _auth_providers(config: Any) -> list[dict[str, Any]]:
    """The providers of auth.config as Convex echoes them: every key present (the CLI
    requires `applicationID`, null allowed for custom JWT providers)."""
    if not config:
        return []
    providers = config.get("providers") if isinstance(config, dict) else None
    if not isinstance(providers, list) or not all(isinstance(p, dict) for p in providers):
        raise BadRequest(
            "auth.config must export an object with a `providers` list", code="InvalidAuthConfig"
        )
    return [_auth_provider(p) for p in providers]


def _auth_provider(provider: dict[str, Any]) -> dict[str, Any]:
    if provider.get("type") == "customJwt":
        for key in ("issuer", "jwks", "algorithm"):
            if not isinstance(provider.get(key), str):
                raise BadRequest(
                    f"A customJwt provider in auth.config needs `{key}` (a string): got "
                    f"{orjson.dumps(provider).decode()}",
                    code="InvalidAuthConfig",
                )
        return {**provider, "applicationID": provider.get("applicationID")}
    if not isinstance(provider.get("domain"), str):
        raise BadRequest(
            "An auth.config provider needs `domain` (an OIDC issuer URL), or `type: "
            f'"customJwt"` with `issuer`, `jwks` and `algorithm`: got '
            f"{orjson.dumps(provider).decode()}",
            code="InvalidAuthConfig",
        )
    if not isinstance(provider.get("applicationID"), str):
        raise BadRequest(
            f"The auth.config provider for {provider['domain']} needs `applicationID` (the "
            '`aud` its tokens carry, e.g. "convex").',
            code="InvalidAuthConfig",
        )
    return provider


def _describe_provider(provider: dict[str, Any]) -> str:
    """How the CLI lists an auth provider in a push's diff: its issuer (and application)."""
    issuer = provider.get("domain") or provider.get("issuer") or orjson.dumps(provider).decode()
    app = provider.get("applicationID")
    return f"{issuer} ({app})" if app else str(issuer)


def _seed(version: str) -> list[int]:
    return list(hashlib.sha256(version.encode()).digest())
