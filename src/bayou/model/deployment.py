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


@dataclass(frozen=True)
class Deployment:
    """Everything one push deployed; never mutated."""

    version: str = "empty"
    language: Literal["js", "python"] = "js"
    modules: tuple[Module, ...] = ()
    analysis: dict[str, Any] = field(default_factory=dict)
    auth_providers: tuple[dict[str, Any], ...] = ()
    udf_server_version: str | None = None
    node_version: str | None = None
    pushed_at_ms: float = 0.0
    functions: dict[str, FunctionSpec] = field(default_factory=dict)

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
        )

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
    return Deployment.build(
        modules,
        orjson.loads(doc["analysis"]),
        language=doc.get("language", "js"),
        auth_providers=orjson.loads(doc.get("authProviders") or "[]"),
        udf_server_version=doc.get("udfServerVersion"),
        node_version=doc.get("nodeVersion"),
        pushed_at_ms=doc.get("pushedAt", 0.0),
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
