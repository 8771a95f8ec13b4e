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
from bayou.database.namespaced import in_namespace
from bayou.database.retry import run_transaction
from bayou.database.schema import DatabaseSchema
from bayou.database.schema_change import (
    SchemaChange,
    complete_backfills,
    finish_schema_change,
    start_schema_change,
)
from bayou.database.transaction import Transaction
from bayou.deploy import components as component_push
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
    # Component definitions by path, and the schema change of each instance by its path.
    definitions: dict[str, component_push.AnalyzedDefinition] = field(default_factory=dict)
    component_changes: dict[str, SchemaChange] = field(default_factory=dict)

    def all_changes(self) -> dict[str, SchemaChange]:
        """Every schema change of the push by component path ("" is the app)."""
        root = {"": self.change} if self.change is not None else {}
        return {**root, **self.component_changes}


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
                {"path": m.path, "hash": m.hash, "environment": m.environment}
                for m in d.modules
                if not m.path.startswith(component_push.DEPS_PREFIX)
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
        pushed_at_ms = time.time() * 1000
        definitions: dict[str, component_push.AnalyzedDefinition] = {}
        component_requests = request.get("componentDefinitions") or []
        js = backend.runtimes.get("js")
        if component_requests:
            if js is None:
                raise BadRequest(
                    "This app installs components (app.use in convex.config), which are "
                    "JavaScript: Bayou needs Node.js ≥ 22 to run them (pip install "
                    "'bayou[node]').",
                    code="ComponentsNotSupported",
                )
            definitions = await component_push.analyze_definitions(
                js, component_requests, pushed_at_ms=pushed_at_ms
            )
            names = {p: d.name for p, d in definitions.items()}
            deps = component_push.dependency_modules(list(app.get("dependencies") or []), names)
            modules = [m for m in modules if not m.path.startswith(component_push.DEPS_PREFIX)]
            modules = sorted(modules + deps, key=lambda m: m.path)
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
        config = analysis.get("definition")
        if config is None and language != "js" and js is not None and app.get("definition"):
            # A Python app's convex.config is JavaScript (bundled by the official CLI).
            config = await component_push.analyze_app_config(
                js,
                [
                    m
                    for m in modules
                    if m.path == "convex.config.js" or m.path.startswith(component_push.DEPS_PREFIX)
                ],
            )
        schema_json = analysis.get("schema")
        schema = DatabaseSchema.from_json(schema_json) if schema_json is not None else None
        deployment = Deployment.build(
            modules,
            dict(analysis.get("modules") or {}),
            language=language,
            auth_providers=_auth_providers(analysis.get("authConfig")),
            udf_server_version=app.get("udfServerVersion"),
            node_version=request.get("nodeVersion"),
            pushed_at_ms=pushed_at_ms,
            config=config,
            definitions={p: d.code for p, d in definitions.items()},
            components=component_push.instantiate(
                config, definitions, backend.function_environment
            ),
        )
        _check_crons(deployment)
        for definition in definitions.values():
            _check_crons(definition.code)
        # Calls to the new deployment find its modules already loaded in the runtime.
        backend.runner.mark_loaded(language, deployment.version)  # type: ignore[union-attr]
        for definition in definitions.values():
            backend.runner.mark_loaded("js", definition.code.version)  # type: ignore[union-attr]
        change = None
        component_changes: dict[str, SchemaChange] = {}
        dry = bool(request.get("dryRun")) or bool(request.get("forCodegen"))
        if not dry:
            if schema is not None:
                change = await start_schema_change(backend.db, schema.source)  # type: ignore[arg-type]
            for path, instance in deployment.components.items():
                own = definitions[instance.definition_path].schema
                if own is not None:
                    component_changes[path] = await start_schema_change(
                        backend.db,  # type: ignore[arg-type]
                        own.source,
                        namespace=path,
                    )
        push = PendingPush(
            secrets.token_hex(12),
            deployment.all_modules(),
            deployment,
            schema,
            change,
            definitions=definitions,
            component_changes=component_changes,
        )
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
        udf_version = app.get("udfServerVersion") or "1.0.0"
        definitions = {
            "": _definition_analysis(
                "", d, push.schema, {"definitionType": {"type": "app"}}, udf_version
            )
        }
        for path, definition in push.definitions.items():
            definitions[path] = _definition_analysis(
                path,
                definition.code,
                definition.schema,
                {"definitionType": {"type": "childComponent", "name": definition.name}},
                definition.code.udf_server_version or udf_version,
            )
        no_diff = {"added_indexes": [], "removed_indexes": []}
        index_diffs = {"": push.change.index_diff() if push.change else no_diff}
        for path in d.components:
            change = push.component_changes.get(path)
            index_diffs[path] = change.index_diff() if change else no_diff
        return {
            "environmentVariables": {},
            "externalDepsId": None,
            "componentDefinitionPackages": {},
            "appAuth": list(d.auth_providers),
            "analysis": definitions,
            "app": _checked_component(d, ""),
            "schemaChange": {
                "allocatedComponentIds": {},
                "schemaIds": {"": push.id},
                "indexDiffs": index_diffs,
            },
            "bayouPushId": push.id,
        }

    # -- wait_for_schema -----------------------------------------------------------------

    async def wait_for_schema(self, request: dict[str, Any]) -> dict[str, Any]:
        push = self._push_of(request.get("schemaChange") or {})
        if push is None:
            return {"type": "raceDetected"}
        changes = push.all_changes()
        if not changes:
            return {"type": "complete"}
        timeout = min(float(request.get("timeoutMs") or 10_000), 60_000) / 1000
        deadline = time.monotonic() + timeout
        finished = True
        for change in changes.values():
            finished = await change.wait(max(deadline - time.monotonic(), 0)) and finished
        for path, change in changes.items():
            if change.done.is_set() and change.error is not None:
                return {
                    "type": "failed",
                    "error": change.error,
                    "componentPath": path,
                    "tableName": change.table_name,
                }
        if finished:
            return {"type": "complete"}
        return {
            "type": "inProgress",
            "components": {
                path: {
                    "schemaValidationComplete": change.validation_complete,
                    "indexesComplete": change.indexes_done,
                    "indexesTotal": change.indexes_total,
                }
                for path, change in changes.items()
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
        for path, change in push.all_changes().items():
            await change.wait()
            if change.error is not None:
                where = f"In component {path}: " if path else ""
                raise BadRequest(where + change.error, code="SchemaValidationFailed")
        dry = bool(request.get("dryRun"))
        async with self._lock:
            if not dry:
                added, removed = await self._commit(push)
                backend.activate(push.deployment)
            else:
                old = {m.path for m in previous.modules}
                new = {m.path for m in push.deployment.modules}
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

            def first_run(name: str, schedule: Any) -> float | None:
                return cron_schedule.next_run_ms(name, schedule, None, now_ms)

            await cron_jobs.sync(tx, push.deployment.crons(), first_run)
            for path in push.deployment.components:
                code = push.deployment.code(path)
                if code is not None:  # each component instance runs its definition's crons
                    await cron_jobs.sync(in_namespace(tx, path), code.crons(), first_run)
            backfill = []
            for path, change in push.all_changes().items():
                backfill += await finish_schema_change(in_namespace(tx, path), change)
            return diff, backfill

        db = self.backend.db
        assert db is not None
        ((added, removed), backfill), _ = await run_transaction(db, write)
        # `_componentDeps/…` modules are Bayou's, not the app's: the CLI never sent them.
        added = [p for p in added if not p.startswith(component_push.DEPS_PREFIX)]
        removed = [p for p in removed if not p.startswith(component_push.DEPS_PREFIX)]
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
        component_diffs: dict[str, Any] = {}
        for path in push.deployment.components:
            change = push.component_changes.get(path)
            before = previous.components.get(path)
            old_code = previous.code(path)
            new_code = push.deployment.code(path)
            old_paths = {m.path for m in old_code.modules} if old_code else set()
            new_paths = {m.path for m in new_code.modules} if new_code else set()
            component_diffs[path] = {
                "diffType": {"type": "create" if before is None else "modify"},
                "moduleDiff": {
                    "added": sorted(new_paths - old_paths),
                    "removed": sorted(old_paths - new_paths),
                },
                "udfConfigDiff": None,
                "cronDiff": {"added": [], "updated": [], "deleted": []},
                "indexDiff": change.index_diff()
                if change
                else {"added_indexes": [], "removed_indexes": []},
                "schemaDiff": None,
            }
        for path in previous.components:
            if path not in push.deployment.components:
                # Its tables stay (as on Convex): installing it again under the same name
                # brings its data back.
                component_diffs[path] = {
                    "diffType": {"type": "unmount"},
                    "moduleDiff": {"added": [], "removed": []},
                    "udfConfigDiff": None,
                    "cronDiff": {"added": [], "updated": [], "deleted": []},
                    "indexDiff": {"added_indexes": [], "removed_indexes": []},
                    "schemaDiff": None,
                }
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
                },
                **component_diffs,
            },
        }

    def _expire(self) -> None:
        now = time.monotonic()
        for push_id, push in list(self._pending.items()):
            if now - push.created > PENDING_TTL_S:
                for change in push.all_changes().values():
                    change.cancel()
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
    for path, component in diff["componentDiffs"].items():
        kind = component["diffType"]["type"]
        if path and kind != "modify":
            parts.append(f"component {path}: {kind}")
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


def _definition_analysis(
    path: str,
    code: Deployment,
    schema: DatabaseSchema | None,
    definition_type: dict[str, Any],
    udf_server_version: str,
) -> dict[str, Any]:
    """One `analysis[definitionPath]` entry of the start_push response (what codegen reads)."""
    config = code.config or {}
    return {
        "definition": {
            "path": path,
            **definition_type,
            "childComponents": [
                {"name": c.get("name"), "path": c.get("path"), "env": c.get("env")}
                for c in config.get("childComponents") or []
            ],
            "httpMounts": config.get("httpMounts") or {},
            # A component exports its public functions; the app exports nothing.
            "exports": component_push.file_based_exports(code.analysis)
            if path
            else config.get("exports") or {"type": "branch", "branch": []},
            "envVars": config.get("envVars"),
        },
        "schema": schema.source if schema else None,
        "functions": {
            module: {
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
            for module, info in code.analysis.items()
        },
        "udfConfig": {
            "serverVersion": udf_server_version,
            "importPhaseRngSeed": _seed(code.version),
            "importPhaseUnixTimestamp": {"secs": int(time.time()), "nanos": 0},
        },
    }


def _checked_component(deployment: Deployment, path: str) -> dict[str, Any]:
    """The `app` of the start_push response: the instance tree, recursively."""
    instance = deployment.components.get(path)
    children = {
        c.name: _checked_component(deployment, c.path)
        for c in deployment.components.values()
        if c.parent == path
    }
    return {
        "definitionPath": instance.definition_path if instance else "",
        "componentPath": path,
        "args": {},
        "childComponents": children,
        "httpRoutes": {"httpModuleRoutes": None, "mounts": []},
        "exports": {},
    }
