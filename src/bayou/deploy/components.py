"""Component definitions in a push: analysing each one, and the tree of instances.

The CLI sends every component definition the app uses (its own `convex/` components and
those of npm packages) as `componentDefinitions[]`: a definition path (relative to the
app's `convex/`), its `convex.config.js`, schema and function modules, and the definitions
it depends on. A definition's `convex.config.js` imports each child's definition as
`./_componentDeps/<base64url(definition path)>`; the runtime supplies that module as
`{componentDefinitionPath, defaultName}`, which is what `use()` reads (js-compat.md §1).

Definitions are analysed children first. The instance tree then follows the app's
`childComponents`, each instance at the path of names from the root ("workpool",
"workpool/batchWorker"); that path is also the namespace of its tables.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson

from bayou.database.schema import DatabaseSchema
from bayou.errors import BadRequest, BayouError
from bayou.model.deployment import ComponentInstance, Deployment
from bayou.model.modules import Module, version_of
from bayou.runtimes.base import Runtime, RuntimeModule

DEPS_PREFIX = "_componentDeps/"
# Deeper trees are almost certainly a cycle the CLI did not catch.
MAX_DEPTH = 16


@dataclass
class AnalyzedDefinition:
    path: str
    code: Deployment
    schema: DatabaseSchema | None
    dependencies: list[str]

    @property
    def name(self) -> str:
        return str((self.code.config or {}).get("name") or self.path.rsplit("/", 1)[-1])


def dependency_modules(dependencies: list[str], names: dict[str, str]) -> list[Module]:
    """The `_componentDeps/…` modules a `convex.config.js` imports its children from."""
    out = []
    for path in dependencies:
        token = base64.urlsafe_b64encode(path.encode()).decode().rstrip("=")
        value = {"componentDefinitionPath": path, "defaultName": names.get(path, path)}
        source = f"export default {orjson.dumps(value).decode()};\n"
        out.append(Module(DEPS_PREFIX + token, source))
    return out


def _order(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Definitions with every dependency before its dependents; a cycle is refused."""
    by_path = {}
    for r in requests:
        path = r.get("definitionPath")
        if not isinstance(path, str) or not path:
            raise BadRequest("A component definition needs a `definitionPath`", code="InvalidPush")
        if path in by_path:
            raise BadRequest(f"Component definition {path} is pushed twice", code="InvalidPush")
        by_path[path] = r
    ordered: list[dict[str, Any]] = []
    state: dict[str, str] = {}

    def visit(path: str, chain: list[str]) -> None:
        if state.get(path) == "done":
            return
        if state.get(path) == "visiting":
            cycle = " -> ".join([*chain[chain.index(path) :], path])
            raise BadRequest(f"Component definitions form a cycle: {cycle}", code="InvalidPush")
        request = by_path.get(path)
        if request is None:
            raise BadRequest(
                f"Component definition {path} is used by {chain[-1] if chain else 'the app'} "
                "but was not pushed: is its package installed?",
                code="InvalidPush",
            )
        state[path] = "visiting"
        for dep in request.get("dependencies") or []:
            visit(dep, [*chain, path])
        state[path] = "done"
        ordered.append(request)

    for path in by_path:
        visit(path, [])
    return ordered


async def analyze_definitions(
    runtime: Runtime, requests: list[dict[str, Any]], *, pushed_at_ms: float
) -> dict[str, AnalyzedDefinition]:
    """Load and analyse every pushed component definition (children first)."""
    out: dict[str, AnalyzedDefinition] = {}
    for request in _order(requests):
        path = request["definitionPath"]
        dependencies = list(request.get("dependencies") or [])
        modules = [Module.from_push(m, path) for m in request.get("functions") or []]
        for extra in (request.get("schema"), request.get("definition")):
            if extra:
                module = Module.from_push(extra, path)
                modules = [m for m in modules if m.path != module.path] + [module]
        names = {dep: out[dep].name for dep in dependencies if dep in out}
        deps = [
            Module(m.path, m.source, definition=path)
            for m in dependency_modules(dependencies, names)
        ]
        modules = sorted(modules + deps, key=lambda m: m.path)
        analysis = await _analyze(runtime, modules, f"Component {path}: ")
        schema_json = analysis.get("schema")
        code = Deployment.build(
            modules,
            {
                p: info
                for p, info in (analysis.get("modules") or {}).items()
                if not p.startswith(DEPS_PREFIX)
            },
            udf_server_version=request.get("udfServerVersion"),
            pushed_at_ms=pushed_at_ms,
            config=analysis.get("definition"),
        )
        out[path] = AnalyzedDefinition(
            path,
            code,
            DatabaseSchema.from_json(schema_json) if schema_json is not None else None,
            dependencies,
        )
    return out


async def analyze_app_config(runtime: Runtime, modules: list[Module]) -> dict[str, Any] | None:
    """The `export()` of an app's `convex.config.js` evaluated in the JS runtime (for a
    Python app, whose own modules the Python runtime analyses)."""
    if not any(m.path == "convex.config.js" for m in modules):
        return None
    where = "Loading the pushed modules encountered the following error:\n"
    return (await _analyze(runtime, modules, where)).get("definition")


async def _analyze(runtime: Runtime, modules: list[Module], where: str) -> dict[str, Any]:
    """Load `modules` as a version of the JS runtime and analyse it (env-less: components
    never see the deployment's variables); an import-time error is refused, prefixed by
    `where`."""
    version = version_of(modules)
    await runtime.load(
        version, [RuntimeModule(m.path, m.source, m.source_map, m.environment) for m in modules]
    )
    try:
        analyzed = await runtime.analyze(version, env={})
    except BayouError as e:
        raise BadRequest(where + e.message, code=getattr(e, "code", "InvalidModules")) from None
    analysis: dict[str, Any] = analyzed.to_json() if hasattr(analyzed, "to_json") else analyzed
    return analysis


def instantiate(
    app_config: dict[str, Any] | None,
    definitions: dict[str, AnalyzedDefinition],
    environment: dict[str, str],
) -> dict[str, ComponentInstance]:
    """Every component instance of the app's tree, by path (parents before children)."""
    out: dict[str, ComponentInstance] = {}

    def walk(config: dict[str, Any] | None, parent: str, env: dict[str, str], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise BadRequest(
                f"Components are nested more than {MAX_DEPTH} deep at {parent}: a cycle?",
                code="InvalidPush",
            )
        seen: set[str] = set()
        for child in (config or {}).get("childComponents") or []:
            name, definition_path = child.get("name"), child.get("path")
            where = f"component {parent!r}" if parent else "the app"
            if name in seen:
                raise BadRequest(
                    f"Component name {name!r} is used twice in {where}: give each "
                    "`use()` of one definition its own `name`.",
                    code="InvalidPush",
                )
            seen.add(name)
            definition = definitions.get(definition_path)
            if definition is None:
                raise BadRequest(
                    f"Component {name!r} of {where} uses definition {definition_path}, which "
                    "was not pushed: is its package installed?",
                    code="InvalidPush",
                )
            path = f"{parent}/{name}" if parent else name
            bound = _bind_env(child.get("env"), env, path)
            out[path] = ComponentInstance(path, name, definition_path, bound)
            walk(definition.code.config, path, bound, depth + 1)

    walk(app_config, "", environment, 0)
    return out


def _bind_env(bindings: Any, parent_env: dict[str, str], path: str) -> dict[str, str]:
    """A child's environment: `{env: {NAME: "value" | parent.env.NAME}}` of its `use()`."""
    out: dict[str, str] = {}
    for entry in bindings or []:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], dict)):
            raise BadRequest(f"Malformed env binding of component {path}", code="InvalidPush")
        name, binding = entry
        if binding.get("type") == "value" and isinstance(binding.get("value"), str):
            out[name] = binding["value"]
        elif binding.get("type") == "envVar":
            value = parent_env.get(str(binding.get("name")))
            if value is not None:
                out[name] = value
    return out


def file_based_exports(analysis: dict[str, Any]) -> dict[str, Any]:
    """What a component exports to its parent: each public function, at its module path
    and name (`lib/add` for `lib.js:add`), as the `exports` tree the CLI's codegen reads
    (`{type: "branch", branch: [[name, node]]}`, leaves `_reference/function/<path>`)."""
    tree: dict[str, Any] = {}
    for module, info in sorted(analysis.items()):
        parts = module.removesuffix(".js").split("/")
        for function in info.get("functions") or []:
            if (function.get("visibility") or {}).get("kind") != "public":
                continue
            if function.get("udfType") not in ("Query", "Mutation", "Action"):
                continue
            node = tree
            for part in parts:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise BadRequest(
                        f"Path {module}:{function['name']} conflicts with existing export",
                        code="InvalidExport",
                    )
            node[function["name"]] = f"_reference/function/{module}:{function['name']}"

    def serialize(node: dict[str, Any]) -> dict[str, Any]:
        branch = [
            [name, {"type": "leaf", "leaf": child} if isinstance(child, str) else serialize(child)]
            for name, child in sorted(node.items())
        ]
        return {"type": "branch", "branch": branch}

    return serialize(tree)
