"""What a pushed Python functions folder defines, in the JSON the JS side reports.

    {"modules": {"messages.py": {"functions": [{"name", "pos": null, "udfType",
                                                "visibility": {"kind"}|null, "args", "returns"}],
                                 "httpRoutes": null, "cronSpecs": null, "sourceMapped": null}},
     "schema": <defineSchema(...).export() JSON> | null, "authConfig": null, "definition": null}

Module keys are the pushed paths (`admin/users.py`); function paths are `admin/users:get`
(the core canonicalizes them as `admin/users.js:get`, whatever the language). `http.py`
adds `httpRoutes` (`[{"route": {"path", "method"}, "pos": null}]`, prefix routes ending in
`*`); `crons.py` adds the `cronJobs().export()` JSON as `cronSpecs` (and as `crons`, the
key the JS analysis uses). `schema.py` gives `schema` and is not listed in `modules`.
`auth_config.py` (`providers = [...]`, the twin of auth.config.ts) gives `authConfig`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Final

import orjson

from bayou.runtimes.python.api.functions import RegisteredFunction
from bayou.runtimes.python.loader import App, crons_of, exports_of, router_of, schema_of
from bayou.runtimes.python.logs import LogSink

_ROUTE_METHODS: Final = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
AUTH_CONFIG: Final = "auth_config.py"  # auth.config.ts's twin: `providers = [...]`


class AnalysisFailed(Exception):
    """A module failed to import or defines something malformed (the message says which
    file, which line, and what to fix)."""


def function_entry(name: str, fn: RegisteredFunction[Any, Any]) -> dict[str, Any]:
    """One function, as `analyzedFunction` of the push response."""
    if fn.udf_type == "HttpAction":
        return {
            "name": name,
            "pos": None,
            "udfType": "HttpAction",
            "visibility": None,
            "args": None,
            "returns": None,
        }
    return {
        "name": name,
        "pos": None,
        "udfType": fn.udf_type,
        "visibility": {"kind": fn.visibility},
        "args": fn.export_args(),
        "returns": fn.export_returns(),
    }


def analyze_module(path: str, module: ModuleType) -> dict[str, Any]:
    """The analysis entry of one function module."""
    exports = exports_of(module)
    entry: dict[str, Any] = {
        "functions": [function_entry(name, exports[name]) for name in sorted(exports)],
        "httpRoutes": None,
        "cronSpecs": None,
        "sourceMapped": None,
    }
    if path == "http.py":
        entry["httpRoutes"] = [
            {"route": {"path": route_path, "method": method}, "pos": None}
            for route_path, method, _ in router_of(module).get_routes()
        ]
    if path == "crons.py":
        crons = orjson.loads(crons_of(module).export())
        entry["cronSpecs"] = crons
        entry["crons"] = crons
    return entry


def auth_config_of(module: ModuleType) -> dict[str, Any]:
    """`auth_config.py`'s `providers`, as auth.config.ts's default export: a list of
    providers with Convex's keys (`application_id` is accepted for `applicationID`)."""
    providers = getattr(module, "providers", None)
    if not isinstance(providers, list | tuple) or not all(isinstance(p, dict) for p in providers):
        raise ValueError(
            "auth_config.py must define `providers`, a list of dicts such as "
            '{"domain": "https://issuer.example.com", "application_id": "convex"} or '
            '{"type": "customJwt", "issuer": ..., "jwks": ..., "algorithm": "RS256"}'
        )
    out = []
    for provider in providers:
        entry = {k: v for k, v in provider.items() if k != "application_id"}
        if "application_id" in provider:
            entry["applicationID"] = provider["application_id"]
        out.append(orjson.loads(orjson.dumps(entry)))
    return {"providers": out}


def _import_failure(path: str, error: BaseException, app: App, logs: LogSink) -> str:
    if path == AUTH_CONFIG and isinstance(error, KeyError) and error.args:
        # os.environ["NAME"] of a variable the deployment lacks, as Convex words it.
        name = error.args[0]
        return (
            f"Environment variable {name} is used in auth config file but its value was not "
            f"set. Set it with `bayou env set {name} <value>` (or `npx convex env set`) and "
            "deploy again."
        )
    where = app.errors.location(error)
    at = f" (at {where})" if where is not None else ""
    message = f"Failed to analyze {path}{at}: {app.errors.describe(error)}"
    if logs.lines:
        printed = "\n".join(
            f"[{line['level']}] {' '.join(line['messages'])}" for line in logs.lines
        )
        message += f"\n\n{printed}"
    return message


def analyze_app(app: App, paths: list[str], logs: LogSink) -> dict[str, Any]:
    """Import every pushed `.py` module of `app` and report what it defines."""
    result: dict[str, Any] = {"modules": {}, "schema": None, "authConfig": None, "definition": None}
    for path in sorted(p for p in paths if p.endswith(".py")):
        try:
            module = app.module(path, logs)
        except (Exception, SystemExit) as error:
            raise AnalysisFailed(_import_failure(path, error, app, logs)) from None
        try:
            if path == "schema.py":
                result["schema"] = orjson.loads(schema_of(module).export())
            elif path == AUTH_CONFIG:
                result["authConfig"] = auth_config_of(module)
            elif path == "__init__.py" or path.endswith("/__init__.py"):
                if exports_of(module):
                    raise ValueError(
                        "define functions in a named module (e.g. messages.py), not in "
                        "__init__.py: their paths would have no module name"
                    )
            else:
                result["modules"][path] = analyze_module(path, module)
        except (TypeError, ValueError) as error:
            raise AnalysisFailed(f"Failed to analyze {path}: {error}") from None
    return result
