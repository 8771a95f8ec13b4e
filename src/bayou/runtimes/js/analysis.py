"""Pushed modules and what analysing them finds.

A module set ("version") is what one `npx convex deploy` pushes: function modules
(`messages.js`), `_deps/*.js` chunks they import, `http.js`, `crons.js`, `schema.js`,
`auth.config.js` and the app definition `convex.config.js`, each an ESM bundle with an
optional source map. Analysis evaluates each module (not the chunks) in import phase and
reports its exports in the shapes the CLI's `start_push` response carries
(`AnalyzedModule.to_json()` is one `analysis[""].functions[path]` entry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bayou.errors import BadRequest
from bayou.runtimes.base import RuntimeModule

UdfType = Literal["Query", "Mutation", "Action", "HttpAction"]


Module = RuntimeModule
"""One pushed module: `path` like "messages.js" or "_deps/ABC123.js"."""


@dataclass(frozen=True)
class AnalyzedFunction:
    """One exported Convex function; `args`/`returns` are validator JSON text (`"null"`
    when a function declares no `returns`), None for HTTP actions."""

    name: str
    udf_type: UdfType
    visibility: Literal["public", "internal"] | None
    args: str | None
    returns: str | None

    def to_json(self) -> dict[str, Any]:
        """The CLI's `analyzedFunction` shape."""
        return {
            "name": self.name,
            "pos": None,
            "udfType": self.udf_type,
            "visibility": None if self.visibility is None else {"kind": self.visibility},
            "args": self.args,
            "returns": self.returns,
        }


@dataclass(frozen=True)
class AnalyzedModule:
    """The exports of one module.

    `http_routes` (for `http.js`) are `[{"route": {"path", "method"}, "pos": None}]`, prefix
    routes with a path ending in `*`; `crons` (for `crons.js`) is the JSON the npm package's
    `crons.export()` writes: `{name: {"name": "module:fn", "args": [{…}], "schedule": {…}}}`.
    """

    path: str
    functions: list[AnalyzedFunction]
    http_routes: list[dict[str, Any]] | None = None
    crons: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The CLI's `analyzedModule` shape. HTTP actions are left out: the CLI's schema
        only admits queries, mutations and actions there. `cronSpecs` stays None: turning
        `crons` into the backend's stored cron specs is the deploy layer's business."""
        return {
            "functions": [f.to_json() for f in self.functions if f.udf_type != "HttpAction"],
            "httpRoutes": self.http_routes,
            "cronSpecs": None,
            "sourceMapped": None,
        }


@dataclass(frozen=True)
class Analysis:
    """Everything analysis found in one module set."""

    modules: dict[str, AnalyzedModule]
    schema: dict[str, Any] | None = None
    auth_config: dict[str, Any] | None = None
    definition: dict[str, Any] | None = None

    @property
    def http_routes(self) -> list[dict[str, str]] | None:
        """`[{"path", "method"}]` of `http.js`, the `app.httpRoutes.httpModuleRoutes` shape."""
        http = self.modules.get("http.js")
        if http is None or http.http_routes is None:
            return None
        return [dict(r["route"]) for r in http.http_routes]

    @property
    def crons(self) -> dict[str, Any] | None:
        """The `crons.export()` JSON of `crons.js`, or None without crons."""
        module = self.modules.get("crons.js")
        return None if module is None else module.crons

    def to_json(self) -> dict[str, Any]:
        """The analysis as the core stores it, the same shape for every runtime: modules
        with all their functions (HTTP actions included) and their crons."""
        return {
            "modules": {
                path: {
                    "functions": [f.to_json() for f in m.functions],
                    "httpRoutes": m.http_routes,
                    "cronSpecs": None,
                    "sourceMapped": None,
                    "crons": m.crons,
                }
                for path, m in self.modules.items()
            },
            "schema": self.schema,
            "authConfig": self.auth_config,
            "definition": self.definition,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Analysis:
        """Parse the worker's `analyzed` result."""
        modules = {}
        for path, m in obj["modules"].items():
            functions = [
                AnalyzedFunction(
                    name=f["name"],
                    udf_type=f["udfType"],
                    visibility=None if f["visibility"] is None else f["visibility"]["kind"],
                    args=f["args"],
                    returns=f["returns"],
                )
                for f in m["functions"]
            ]
            modules[path] = AnalyzedModule(path, functions, m["httpRoutes"], m["crons"])
        return cls(
            modules=modules,
            schema=obj.get("schema"),
            auth_config=obj.get("authConfig"),
            definition=obj.get("definition"),
        )


class AnalysisError(BadRequest):
    """A pushed module failed to evaluate or exported something malformed.

    The message names the module and, for exceptions at import time, the original file and
    line: "Failed to analyze broken.js: Uncaught Error: … at check (../convex/broken.ts:7:11)".
    """

    default_code = "InvalidModules"
