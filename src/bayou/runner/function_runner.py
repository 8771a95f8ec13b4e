"""The function runner: one call of a query, mutation or action, from request to result.

It resolves the path against the deployment the call started with, checks visibility and
the function's kind, validates arguments, runs the function in the deployment's runtime
with a syscall handler over a transaction (queries: a read-only snapshot; mutations: a
transaction retried on conflicts; actions: none, each `runQuery`/`runMutation` is its own),
validates the result, and records the execution in the function log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from bayou.database.catalog import Catalog
from bayou.database.database import Database
from bayou.database.namespaced import in_namespace
from bayou.database.retry import RetryAttempt, run_transaction
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest, BayouError, RateLimited, ValidationError
from bayou.model import session_requests
from bayou.model.deployment import Deployment, FunctionSpec
from bayou.model.system_tables import USER_READABLE_SYSTEM_TABLES
from bayou.runner.audit import audit, write_audit_lines
from bayou.runner.calls import (
    JOB_NOT_PENDING,
    KIND_NAMES,
    CallContext,
    CallRequest,
    CallResult,
    FunctionFailed,
    JobNotPending,
    Kind,
    Limits,
    NestedCallFailed,
    TransactionHooks,
    error_text,
    raw_args_json,
    reference_path,
)
from bayou.runner.identity import Identity
from bayou.runner.logs import FunctionLogs
from bayou.runner.read_ahead import MutationReads, ReadTemplates
from bayou.runner.references import FunctionTarget, function_handle
from bayou.runner.references import resolve as resolve_reference
from bayou.runner.request_metadata import request_metadata
from bayou.runner.system_functions import SystemFunctions
from bayou.runtimes.base import Invocation, InvocationResult, Runtime, RuntimeModule
from bayou.values import Int64
from bayou.values import json as vjson
from bayou.values.entropy import random_hex
from bayou.values.model import with_commit_ts
from bayou.values.validators import check_args, check_returns

if TYPE_CHECKING:
    from bayou.runner.storage_syscalls import FileService


class FunctionRunner:
    """Runs functions; owned by the backend, shared by every API surface."""

    def __init__(
        self,
        db: Database,
        runtimes: dict[str, Runtime],
        *,
        deployment: Callable[[], Deployment],
        environment: Callable[[], dict[str, str]],
        logs: FunctionLogs | None = None,
        limits: Limits | None = None,
        system_functions: SystemFunctions | None = None,
        files: FileService | None = None,
        read_ahead: bool = True,
    ) -> None:
        self.db = db
        self.system_functions = system_functions or SystemFunctions(db)
        self.runtimes = runtimes
        self.deployment = deployment
        self.environment = environment
        self.logs = logs or FunctionLogs()
        self.limits = limits or Limits()
        self.files = files  # file storage: `ctx.storage` (runner.storage_syscalls)
        self._loaded: set[tuple[str, str]] = set()
        self._loading: dict[tuple[str, str], asyncio.Lock] = {}
        self._numbers: dict[str, tuple[Catalog, dict[str, int]]] = {}
        # Each mutation's first reads, as learned from its calls (runner/read_ahead.py).
        self.read_templates = ReadTemplates()
        self.read_ahead = read_ahead

    # -- entry points ------------------------------------------------------------------

    async def call(self, req: CallRequest, *, across: bool = False) -> CallResult:
        """Run one function call; function errors come back as a failed CallResult.
        `across`: a parent calls into a child component (its public functions only)."""
        deployment = self.deployment()
        request_id = req.request_id or random_hex(8)
        if req.path.is_system:
            return await self._call_system(req, deployment, request_id)
        started = time.time()
        ctx: CallContext | None = None
        try:
            spec = self._resolve(deployment, req, across=across)
            args = self.check_call_args(spec, req.args, req.component)
            ctx = CallContext(
                self,
                deployment,
                spec,
                req.identity,
                request_id,
                req.journal,
                origin=req.origin,
                args_json=req.args_json,
                scheduled_job=req.scheduled_job or req.parent_job,
                component=req.component,
            )
            if spec.udf_type == "query":
                result = await self._run_query(ctx, spec, args, req.ts)
            elif spec.udf_type == "mutation":
                if req.identity.read_only:
                    raise BadRequest("A read-only admin key cannot run mutations", code="Forbidden")
                result = await self._run_mutation(ctx, spec, args, req.session, req.hooks)
            else:
                if req.identity.read_only:
                    raise BadRequest("A read-only admin key cannot run actions", code="Forbidden")
                result = await self._run_action(ctx, spec, args)
        except BayouError as e:
            result = CallResult(ok=False, udf_type=req.kind or "query", error_message=e.message)
            result.transient = e.status >= 500 or isinstance(e, RateLimited)
            if isinstance(e, RateLimited):
                result.refused = e
            data = getattr(e, "data", None)  # e.g. InvalidCursor's pagination marker
            if data is not None:
                result.error_data, result.has_error_data = data, True
        if not result.ok:
            result.error_message = error_text(result.error_message or "Uncaught Error")
        if ctx is not None and ctx.nested_logs:
            result.log_lines = sorted(
                [*result.log_lines, *ctx.nested_logs], key=lambda line: line["timestamp"]
            )
        result.request_id = request_id
        self.record(req, result, started)
        if ctx is not None and ctx.audit:
            write_audit_lines(req, result, ctx.audit)
        return result

    async def _call_system(
        self, req: CallRequest, deployment: Deployment, request_id: str
    ) -> CallResult:
        """`_system/...`: Bayou's own queries, in Python (`system_functions.py`); not logged."""
        try:
            if req.kind not in (None, "query"):
                raise BadRequest(
                    f"Trying to execute {req.path} as {KIND_NAMES[req.kind]}, but it is "
                    "defined as Query.",
                    code="WrongFunctionType",
                )
            out = await self.system_functions.run(
                req.path, req.args, req.identity, deployment, req.ts, req.component
            )
        except BayouError as e:
            return CallResult(
                ok=False, udf_type="query", error_message=e.message, request_id=request_id
            )
        return CallResult(
            ok=True,
            udf_type="query",
            value=out.value,
            ts=out.ts,
            read_set=out.tx.finalize_reads(),
            request_id=request_id,
        )

    def _resolve(
        self, deployment: Deployment, req: CallRequest, *, across: bool = False
    ) -> FunctionSpec:
        code = deployment.code(req.component)
        if code is None:
            raise BadRequest(f"Component '{req.component}' not found", code="ComponentNotFound")
        if req.component and not across and not req.identity.may_call_internal:
            # Clients reach the app's public functions; a component's only through the app.
            raise BadRequest(
                f"Could not find public function for '{req.path}' in component "
                f"'{req.component}': only admins call component functions directly.",
                code="FunctionNotFound",
            )
        spec = code.function(req.path)
        if spec is not None and across and spec.visibility == "internal":
            spec = None  # a component exports its public functions only
        if spec is None or (spec.visibility == "internal" and not req.identity.may_call_internal):
            if req.component:
                raise BadRequest(
                    f"Could not find function for '{req.path}' in component "
                    f"'{req.component}'. Is it a public function of the component?",
                    code="FunctionNotFound",
                )
            if req.kind is None:
                # Calls of any kind (`/api/function`, `npx convex run`) word it as Convex's
                # any_udf does: the CLI then lists the deployed functions.
                raise BadRequest(
                    f"Could not find function for '{req.path}'. Did you forget to run "
                    "`npx convex dev`?",
                    code="FunctionNotFound",
                )
            raise BadRequest(
                f"Could not find public function for '{req.path}'. Did you forget to run "
                "`npx convex dev`?",
                code="FunctionNotFound",
            )
        if spec.udf_type == "httpAction":
            raise BadRequest(
                f"'{req.path}' is an HTTP action: call it over HTTP.", code="FunctionNotFound"
            )
        if req.kind is not None and spec.udf_type != req.kind:
            raise BadRequest(
                f"Trying to execute {req.path.canonical} as {KIND_NAMES[req.kind]}, but it is "
                f"defined as {spec.udf_type_name}.",
                code="WrongFunctionType",
            )
        return spec

    def check_call_args(self, spec: FunctionSpec, args: Any, component: str = "") -> Any:
        """`args` checked against `spec`'s validator (`{}` for none); raises the error."""
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise BadRequest(
                f"ArgumentValidationError: Arguments of {spec.path} must be an object, got "
                f"{vjson.dumps(args).decode()[:200]}",
                code="ArgumentValidationError",
            )
        if spec.args is not None:
            catalog = self.db.catalog

            def id_table(id: str) -> str | None:
                table = catalog.table_for_id(id, component)
                return table.name if table else None

            check_args(spec.args, [args], id_table=id_table)
        return args

    # -- the three kinds -------------------------------------------------------------

    async def _run_query(
        self, ctx: CallContext, spec: FunctionSpec, args: Any, ts: int | None
    ) -> CallResult:
        tx = self.db.begin(read_only=True, ts=ts, namespace=ctx.component)
        from bayou.runner.transaction_syscalls import TransactionSyscalls

        syscalls = TransactionSyscalls(ctx, tx)
        out = await self.invoke(ctx, spec, "query", args, syscalls, self.limits.query_timeout_s)
        result = self._result(spec, out, tx)
        result.ts = tx.begin_ts
        result.read_set = tx.finalize_reads()
        result.journal = syscalls.journal_out
        result.observed_identity = bool(ctx.observed.get("identity"))
        return result

    async def _run_mutation(
        self,
        ctx: CallContext,
        spec: FunctionSpec,
        args: Any,
        session: tuple[str, int] | None = None,
        hooks: TransactionHooks | None = None,
    ) -> CallResult:
        from bayou.runner.transaction_syscalls import TransactionSyscalls

        reads_ahead = MutationReads(
            self.read_templates if self.read_ahead else None,
            (ctx.code.version, ctx.component, spec.path.canonical),
            lambda: ctx.args_json or vjson.dumps(args).decode(),
        )

        async def attempt(tx: Transaction) -> InvocationResult | session_requests.StoredResult:
            if session is not None:
                # In the mutation's own transaction: a concurrent run of the same request
                # conflicts with this read, and its retry finds the stored result.
                stored = await session_requests.lookup(tx, *session)
                if stored is not None:
                    return stored
            ctx.audit.clear()  # an attempt that conflicted logged nothing
            ctx.nested_logs.clear()
            ctx.nested_calls = 0  # the retry's nested calls get the same seeds again
            if hooks is not None and not await hooks.before(tx):
                raise JobNotPending()
            syscalls = TransactionSyscalls(ctx, in_namespace(tx, ctx.component))
            # Answer the function's first reads before it asks for them (read_ahead.py).
            reads = reads_ahead.for_attempt(syscalls)
            read_ahead = await syscalls.answer_ahead(reads) if reads else []
            out = await self.invoke(
                ctx,
                spec,
                "mutation",
                args,
                syscalls,
                self.limits.mutation_timeout_s,
                defer_writes=ctx.defer_writes,
                urgent=tx.admission is not None and bool(tx.admission.held),
                read_ahead=read_ahead or None,
            )
            reads_ahead.ran(syscalls, len(read_ahead), out.read_ahead_used)
            if out.deferred_write_failed:
                # User code went on past a write that failed: run it again the slow way,
                # where the write's error is thrown where Convex throws it.
                ctx.defer_writes = False
                raise RetryAttempt()
            if not out.ok:
                raise FunctionFailed(out)
            self._check_returns(spec, out, syscalls.tx)
            if session is not None:
                await session_requests.store(tx, *session, out.value_json or "null")
            if hooks is not None:
                await hooks.after(tx)
            return out

        try:
            out, ts = await run_transaction(self.db, attempt)
        except FunctionFailed as failed:
            return self._result(spec, failed.result, None)
        except JobNotPending:
            return CallResult(ok=False, udf_type="mutation", error_message=JOB_NOT_PENDING)
        if isinstance(out, session_requests.StoredResult):
            text = out.value_json
            if '"$commitTs"' in text:  # stored before the commit stamped it
                text = _stamp_commit_ts(text, out.ts)
            return CallResult(
                ok=True,
                udf_type="mutation",
                value=vjson.loads(text),
                value_json=text,
                ts=out.ts,
                replayed=True,
            )
        if out.value_json and '"$commitTs"' in out.value_json:
            out.value_json = _stamp_commit_ts(out.value_json, ts)
        result = self._result(spec, out, None)
        result.ts = ts
        return result

    async def _run_action(self, ctx: CallContext, spec: FunctionSpec, args: Any) -> CallResult:
        from bayou.runner.action_syscalls import ActionSyscalls

        out = await self.invoke(
            ctx, spec, "action", args, ActionSyscalls(ctx), self.limits.action_timeout_s
        )
        return self._result(spec, out, None)

    def _result(
        self, spec: FunctionSpec, out: InvocationResult, tx: Transaction | None
    ) -> CallResult:
        result = CallResult(ok=out.ok, udf_type=spec.udf_type, log_lines=out.log_lines)
        if out.ok:
            result.value_json = out.value_json
            result.value = vjson.loads(out.value_json or "null")
            if tx is not None:
                try:
                    self._check_returns(spec, out, tx, value=result.value)
                except ValidationError as e:
                    return CallResult(
                        False, spec.udf_type, error_message=e.message, log_lines=out.log_lines
                    )
        else:
            result.error_message = out.error_message
            result.transient = out.timed_out or out.system_error
            if out.error_data_json is not None:
                result.error_data = vjson.loads(out.error_data_json)
                result.has_error_data = True
        return result

    def _check_returns(
        self, spec: FunctionSpec, out: InvocationResult, tx: Transaction, value: Any = None
    ) -> None:
        if spec.returns is None:
            return
        if value is None:
            value = vjson.loads(out.value_json or "null")
        check_returns(spec.returns, value, id_table=tx.id_table)

    # -- invoking a runtime -----------------------------------------------------------

    async def invoke(
        self,
        ctx: CallContext,
        spec: FunctionSpec,
        kind: Kind,
        args: Any,
        syscalls: Any,
        timeout_s: float,
        *,
        defer_writes: bool = False,
        urgent: bool = False,
        read_ahead: list[list[Any]] | None = None,
    ) -> InvocationResult:
        deployment = ctx.code
        runtime = self.runtimes.get(deployment.language)
        if runtime is None:
            raise BadRequest(
                f"No {deployment.language} runtime is available", code="InternalServerError"
            )
        await self.ensure_loaded(deployment)
        namespace = ctx.component
        instance = ctx.deployment.components.get(namespace) if namespace else None
        call = Invocation(
            version=deployment.version,
            udf_type=kind,
            path=spec.path.canonical,
            args_json="[" + (ctx.args_json or vjson.dumps(args).decode()) + "]",
            # A component sees only what its parent bound in `use(child, {env})`.
            env=dict(instance.env) if instance is not None else self.environment(),
            seed=ctx.seed,
            now_ms=time.time() * 1000,
            # For ctx.db.normalizeId: user tables and the system tables functions may read.
            table_numbers=self._table_numbers(namespace),
            request_id=ctx.request_id,
            timeout_s=timeout_s,
            # ctx.meta.getSnapshotTs(): the transaction's snapshot (queries and mutations).
            snapshot_ts=tx.begin_ts if (tx := getattr(syscalls, "tx", None)) is not None else None,
            defer_writes=defer_writes,
            urgent=urgent,
            read_ahead=read_ahead,
        )
        return await runtime.invoke(call, syscalls)

    def _table_numbers(self, namespace: str) -> dict[str, int]:
        """For ctx.db.normalizeId: the namespace's user tables and the system tables
        functions may read; kept while the catalog (immutable) stays the same."""
        catalog = self.db.catalog
        cached = self._numbers.get(namespace)
        if cached is not None and cached[0] is catalog:
            return cached[1]
        numbers = {
            t.name: t.number
            for t in catalog.tables()
            if t.namespace == namespace
            and (not t.is_system or t.name in USER_READABLE_SYSTEM_TABLES)
        }
        self._numbers[namespace] = (catalog, numbers)
        return numbers

    async def ensure_loaded(self, deployment: Deployment) -> None:
        """Load a deployment's modules into its runtime once (after a restart, lazily)."""
        key = (deployment.language, deployment.version)
        if key in self._loaded:
            return
        lock = self._loading.setdefault(key, asyncio.Lock())
        async with lock:
            if key in self._loaded:
                return
            modules = [
                RuntimeModule(m.path, m.source, m.source_map, m.environment)
                for m in deployment.modules
            ]
            await self.runtimes[deployment.language].load(deployment.version, modules)
            self._loaded.add(key)

    def mark_loaded(self, language: str, version: str) -> None:
        """The deploy pipeline loaded (and analyzed) this version already."""
        self._loaded.add((language, version))

    # -- nested calls -----------------------------------------------------------------

    async def run_nested(self, parent: CallContext, tx: Transaction, kind: str, args: dict) -> Any:
        """`ctx.runQuery` / `ctx.runMutation` inside a query or mutation: the same transaction."""
        target = resolve_reference(parent.deployment, parent.component, args)
        path = target.path
        if parent.depth >= 8:
            raise BadRequest("Functions are nested more than 8 deep", code="TooDeepNesting")
        want: Kind = "mutation" if kind == "mutation" else "query"
        req = CallRequest(
            path, vjson.from_json(args.get("args") or {}), want, parent.identity, parent.request_id
        )
        spec = self._resolve(
            parent.deployment,
            CallRequest(path, None, want, _internal(parent.identity), component=target.component),
            across=target.across,
        )
        call_args = self.check_call_args(spec, req.args, target.component)
        ctx = CallContext(
            self,
            parent.deployment,
            spec,
            parent.identity,
            parent.request_id,
            depth=parent.depth + 1,
            observed=parent.observed,
            origin=parent.origin,
            audit=parent.audit,
            args_json=raw_args_json(args),
            scheduled_job=parent.scheduled_job,
            nested_logs=parent.nested_logs,
            component=target.component,
            seed=parent.child_seed(),
        )
        from bayou.runner.transaction_syscalls import TransactionSyscalls

        savepoint = tx.savepoint()
        tx = in_namespace(tx, target.component)
        syscalls = TransactionSyscalls(ctx, tx)
        out = await self.invoke(
            ctx, spec, want, call_args, syscalls, self.limits.mutation_timeout_s
        )
        parent.nested_logs.extend(out.log_lines)
        if not out.ok:
            tx.rollback_to(savepoint)  # a failed runMutation undoes only its own writes
            raise NestedCallFailed(out.error_message or "Uncaught Error", out.error_data_json)
        self._check_returns(spec, out, tx)
        return orjson.Fragment(out.value_json or "null")

    async def shared_syscall(self, ctx: CallContext, op: str, args: Any) -> Any:
        """Syscalls every kind of function has."""
        if op == "1.0/getUserIdentity":
            ctx.observed["identity"] = True
            return ctx.identity.user_attributes()
        if op == "1.0/getFunctionMetadata":
            return {
                "name": str(ctx.spec.path) if ctx.spec else None,
                "componentPath": ctx.component,
            }
        if op == "1.0/createFunctionHandle":
            target = resolve_reference(ctx.deployment, ctx.component, args or {})
            code = ctx.deployment.code(target.component)
            spec = code.function(target.path) if code is not None else None
            if spec is None or (target.across and spec.visibility == "internal"):
                raise BadRequest(
                    f"Couldn't create a function handle: function {target.path} does not exist "
                    + (f"in component '{target.component}'" if target.component else ""),
                    code="InvalidReference",
                )
            return function_handle(FunctionTarget(target.component, target.path))
        if op == "1.0/getDeploymentMetadata":
            return {"name": "self-hosted", "region": None, "class": "self-hosted"}
        if op == "1.0/getRequestMetadata":
            return request_metadata(ctx)
        if op == "1.0/auditLog":
            return audit(ctx, args)
        from bayou.runner import storage_syscalls

        if op in storage_syscalls.ACTION_ONLY:  # file contents: actions only, as on Convex
            raise storage_syscalls.unknown_operation(op)
        raise BadRequest(
            f"{op} is not supported by this version of Bayou yet", code="UnsupportedSyscall"
        )

    # -- logs --------------------------------------------------------------------------

    def record(
        self, req: CallRequest, result: CallResult, started: float, identifier: str | None = None
    ) -> None:
        """Add a finished call to the function log (`identifier`: how logs name it)."""
        now = time.time()
        self.logs.append(
            {
                "kind": "Completion",
                "udfType": KIND_NAMES.get(result.udf_type, "Query"),
                "identifier": identifier or str(req.path),
                "componentPath": req.component or None,
                "logLines": result.log_lines,
                "timestamp": now,
                "cachedResult": False,
                "caller": req.caller,
                "executionTime": now - started,
                "success": {"value": None} if result.ok else None,
                "error": None if result.ok else result.error_message,
                "requestId": result.request_id,
                "executionId": random_hex(8),
                "usageStats": {
                    "databaseReadBytes": 0,
                    "databaseWriteBytes": 0,
                    "databaseReadDocuments": 0,
                    "storageReadBytes": 0,
                    "storageWriteBytes": 0,
                    "vectorIndexReadBytes": 0,
                    "vectorIndexWriteBytes": 0,
                    "memoryUsedMb": 0,
                },
                "identityType": req.identity.type_name,
                "environment": "isolate",
            }
        )


def _stamp_commit_ts(value_json: str, ts: int) -> str:
    """A mutation's result with `db.vars.commitTs` resolved to its commit timestamp."""
    value = vjson.from_json(orjson.loads(value_json), commit_ts=True)
    return vjson.dumps(with_commit_ts(value, Int64(ts))).decode()


def _internal(identity: Identity) -> Identity:
    """Functions may call internal functions whoever their caller is."""
    return (
        Identity(kind="system", user=identity.user) if not identity.may_call_internal else identity
    )


__all__ = [
    "JOB_NOT_PENDING",
    "CallContext",
    "CallRequest",
    "CallResult",
    "FunctionFailed",
    "FunctionRunner",
    "JobNotPending",
    "Kind",
    "Limits",
    "NestedCallFailed",
    "TransactionHooks",
    "error_text",
    "raw_args_json",
    "reference_path",
]
