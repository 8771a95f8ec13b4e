"""The deployed configuration (`_deployment`) and its in-memory snapshot, `Deployment`.

A push (finish_push) writes the modules, the analysis of every module (functions with
their kind, visibility and validators; HTTP routes; cron specs), the auth providers and the
UDF server version in one commit. `Deployment` is the immutable view of one such push that
function calls use from start to end, so a call in flight during a push finishes on the
code it started with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from bayou.database.catalog import SystemTable
from bayou.database.transaction import Transaction
from bayou.model.modules import Module, load_all, version_of
from bayou.protocol.function_path import FunctionPath
from bayou.values.validators import (
    ObjectValidator,
    Validator,
    args_validator_from_json,
    returns_validator_from_json,
)

DEPLOYMENT = SystemTable("_deployment", 22, {})

UdfType = Literal["query", "mutation", "action", "httpAction"]
_UDF_TYPES: dict[str, UdfType] = {
    "Query": "query",
    "Mutation": "mutation",
    "Action": "action",
    "HttpAction": "httpAction",
}


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One exported function, as analysis found it."""

    path: FunctionPath
    udf_type: UdfType
    visibility: Literal["public", "internal"]
    args_json: str | None
    returns_json: str | None
    args: ObjectValidator | None  # None: no validator (or v.any())
    returns: Validator | None

    @classmethod
    def from_analysis(cls, module: str, entry: dict[str, Any]) -> FunctionSpec:
        visibility = (entry.get("visibility") or {}).get("kind", "public")
        args_json = entry.get("args")
        returns_json = entry.get("returns")
        return cls(
            path=FunctionPath(module.removesuffix(".js").removesuffix(".py"), entry["name"]),
            udf_type=_UDF_TYPES[entry["udfType"]],
            visibility=visibility,
            args_json=args_json,
            returns_json=returns_json,
            args=None if args_json is None else args_validator_from_json(args_json),
            returns=None if returns_json is None else returns_validator_from_json(returns_json),
        )

    @property
    def udf_type_name(self) -> str:
        """`Query`, `Mutation`, `Action`, `HttpAction`: how Convex names kinds in messages."""
        return {v: k for k, v in _UDF_TYPES.items()}[self.udf_type]


@dataclass(frozen=True, slots=True)
class ComponentInstance:
    """One installed component: `app.use(definition, {name})`, at a path in the tree.

    Its tables live in the namespace named by its path; its code is its definition's."""

    path: str  # "workpool", "workpool/batchWorker"
    name: str
    definition_path: str  # "../node_modules/@convex-dev/workpool/dist/component"
    # What `process.env` holds in its functions: the values its parent bound with
    # `use(child, {env})` (a component never sees the deployment's variables).
    env: dict[str, str] = field(default_factory=dict)

    @property
    def parent(self) -> str:
        return self.path.rpartition("/")[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "definitionPath": self.definition_path,
            "env": self.env,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ComponentInstance:
        return cls(obj["path"], obj["name"], obj["definitionPath"], dict(obj.get("env") or {}))


@dataclass(frozen=True)
class Deployment:
    """Everything one push deployed; never mutated.

    The root deployment is the app's code; `definitions` holds each component definition's
    code as a `Deployment` of its own, and `components` the installed instances by path."""

    version: str = "empty"
    language: Literal["js", "python"] = "js"
    modules: tuple[Module, ...] = ()
    analysis: dict[str, Any] = field(default_factory=dict)
    auth_providers: tuple[dict[str, Any], ...] = ()
    udf_server_version: str | None = None
    node_version: str | None = None
    pushed_at_ms: float = 0.0
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    # The export() of the definition's convex.config.js (child components, exports).
    config: dict[str, Any] | None = None
    definitions: dict[str, Deployment] = field(default_factory=dict)
    components: dict[str, ComponentInstance] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        modules: list[Module],
        analysis: dict[str, Any],
        *,
        language: Literal["js", "python"] = "js",
        auth_providers: list[dict[str, Any]] | None = None,
        udf_server_version: str | None = None,
        node_version: str | None = None,
        pushed_at_ms: float = 0.0,
        config: dict[str, Any] | None = None,
        definitions: dict[str, Deployment] | None = None,
        components: dict[str, ComponentInstance] | None = None,
    ) -> Deployment:
        functions: dict[str, FunctionSpec] = {}
        for module, info in analysis.items():
            for entry in (info or {}).get("functions") or []:
                spec = FunctionSpec.from_analysis(module, entry)
                functions[spec.path.canonical] = spec
        return cls(
            version=version_of(modules) if modules else "empty",
            language=language,
            modules=tuple(modules),
            analysis=analysis,
            auth_providers=tuple(auth_providers or ()),
            udf_server_version=udf_server_version,
            node_version=node_version,
            pushed_at_ms=pushed_at_ms,
            functions=functions,
            config=config,
            definitions=dict(definitions or {}),
            components=dict(components or {}),
        )

    def code(self, component: str) -> Deployment | None:
        """The code that runs in component `component` ("" is the app), or None."""
        if not component:
            return self
        instance = self.components.get(component)
        return None if instance is None else self.definitions.get(instance.definition_path)

    def all_modules(self) -> list[Module]:
        """The app's modules and every component definition's (what `_modules` holds)."""
        out = list(self.modules)
        for definition in self.definitions.values():
            out.extend(definition.modules)
        return out

    def function(self, path: FunctionPath) -> FunctionSpec | None:
        return self.functions.get(path.canonical)

    def runs_in_node(self, path: FunctionPath) -> bool:
        """True for a function of a `"use node"` module."""
        module = path.module + ".js"
        return any(m.path == module and m.environment == "node" for m in self.modules)

    def http_routes(self) -> list[dict[str, Any]]:
        info = self.analysis.get("http.js") or self.analysis.get("http.py") or {}
        return list(info.get("httpRoutes") or [])

    def crons(self) -> dict[str, Any]:
        """`{identifier: {name, args, schedule}}`: the crons module's `export()`."""
        info = self.analysis.get("crons.js") or self.analysis.get("crons.py") or {}
        crons = info.get("crons") or info.get("cronSpecs") or {}
        return crons if isinstance(crons, dict) else {}

    def to_doc(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "language": self.language,
            "analysis": orjson.dumps(self.analysis).decode(),
            "authProviders": orjson.dumps(list(self.auth_providers)).decode(),
            "udfServerVersion": self.udf_server_version,
            "nodeVersion": self.node_version,
            "pushedAt": self.pushed_at_ms,
            "components": orjson.dumps(
                {
                    "config": self.config,
                    "definitions": {
                        path: {
                            "analysis": d.analysis,
                            "config": d.config,
                            "udfServerVersion": d.udf_server_version,
                        }
                        for path, d in self.definitions.items()
                    },
                    "instances": [c.to_json() for c in self.components.values()],
                }
            ).decode(),
        }


async def load(tx: Transaction) -> Deployment:
    """The deployment as committed at `tx`'s snapshot."""
    docs = await tx.query(
        {
            "source": {"type": "FullTableScan", "tableName": DEPLOYMENT.name, "order": "asc"},
            "operators": [],
        },
        system=True,
    ).collect()
    if not docs:
        return Deployment()
    doc = docs[-1]
    modules = await load_all(tx)
    components = orjson.loads(doc.get("components") or "{}")
    definitions = {
        path: Deployment.build(
            [m for m in modules if m.definition == path],
            info.get("analysis") or {},
            config=info.get("config"),
            udf_server_version=info.get("udfServerVersion"),
        )
        for path, info in (components.get("definitions") or {}).items()
    }
    return Deployment.build(
        [m for m in modules if not m.definition],
        orjson.loads(doc["analysis"]),
        language=doc.get("language", "js"),
        auth_providers=orjson.loads(doc.get("authProviders") or "[]"),
        udf_server_version=doc.get("udfServerVersion"),
        node_version=doc.get("nodeVersion"),
        pushed_at_ms=doc.get("pushedAt", 0.0),
        config=components.get("config"),
        definitions=definitions,
        components={
            c["path"]: ComponentInstance.from_json(c) for c in components.get("instances") or []
        },
    )


async def save(tx: Transaction, deployment: Deployment) -> None:
    """Write the deployment's configuration document (modules are written separately)."""
    docs = await tx.query(
        {
            "source": {"type": "FullTableScan", "tableName": DEPLOYMENT.name, "order": "asc"},
            "operators": [],
        },
        system=True,
    ).collect()
    for doc in docs[:-1]:
        await tx.delete(doc["_id"], system=True)
    if docs:
        await tx.replace(docs[-1]["_id"], deployment.to_doc(), system=True)
    else:
        await tx.insert(DEPLOYMENT.name, deployment.to_doc(), system=True)
