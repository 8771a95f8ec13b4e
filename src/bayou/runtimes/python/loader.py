"""Importing a pushed functions folder in the worker, and finding its functions.

The modules of a version live in `<version dir>/convex/` (the host writes them there, with
an `__init__.py` in every directory) and are imported as the package `convex`: modules
import each other relatively (`from . import helpers`, `from .lib.auth import check`) or
absolutely (`from convex.lib import helpers`), as they do when the project folder is on
`sys.path` locally. A worker holds one version at a time; switching versions (or the
deployment's environment variables, which module-level code may read) drops every
`convex.*` module and imports afresh. Modules are imported once and shared by the calls
that follow, like Convex reusing an isolate: each call gets a fresh `ctx`, but module-level
mutable state is neither guaranteed to persist nor to be reset between calls.

A module's functions are its `RegisteredFunction`s: those defined in it, or, when it has
an `__all__`, exactly the names listed there (to re-export functions of other modules).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Final, TypeVar

from bayou.runtimes.python.api.crons import Crons
from bayou.runtimes.python.api.functions import APP_PACKAGE, RegisteredFunction
from bayou.runtimes.python.api.http import HttpRouter
from bayou.runtimes.python.api.schema import SchemaDefinition
from bayou.runtimes.python.logs import LogSink
from bayou.runtimes.python.sandbox import CURRENT, Execution
from bayou.runtimes.python.tracebacks import ErrorFormatter

T = TypeVar("T")

SPECIAL_MODULES: Final = {"schema.py": "schema", "crons.py": "crons", "http.py": "http"}


class FunctionNotFound(Exception):
    """The call names a module or an export that is not there."""


def python_module_name(module_path: str) -> str:
    """`convex.admin.users` for `admin/users` (or `admin/users.py`; `admin/__init__.py` is
    `convex.admin`)."""
    path = module_path.removesuffix(".py").removesuffix(".js")
    if path == "__init__":
        return APP_PACKAGE
    path = path.removesuffix("/__init__")
    return f"{APP_PACKAGE}.{path.replace('/', '.')}"


class App:
    """One version of the functions folder, imported in this worker."""

    def __init__(
        self, version: str, directory: str, env_key: str, import_seed: int, import_now: float
    ) -> None:
        self.version = version
        self.directory = directory
        self.env_key = env_key
        self.import_seed = import_seed
        self.import_now = import_now
        self.errors = ErrorFormatter(f"{directory}/{APP_PACKAGE}")
        self._exports: dict[str, dict[str, RegisteredFunction[Any, Any]]] = {}

    @contextlib.contextmanager
    def import_phase(self, logs: LogSink) -> Iterator[None]:
        """Imports run deterministically (seeded, frozen at load time, no network)."""
        execution = Execution(True, self.import_now, self.import_seed, logs)
        token = CURRENT.set(execution)
        try:
            yield
        finally:
            CURRENT.reset(token)

    def module(self, module_path: str, logs: LogSink) -> ModuleType:
        """Import (once) the module `admin/users.py`; import errors propagate."""
        name = python_module_name(module_path)
        loaded = sys.modules.get(name)
        if loaded is not None:
            return loaded
        with self.import_phase(logs):
            return importlib.import_module(name)

    def exports(self, module_path: str, logs: LogSink) -> dict[str, RegisteredFunction[Any, Any]]:
        """The module's functions by exported name."""
        key = module_path.removesuffix(".py").removesuffix(".js")
        found = self._exports.get(key)
        if found is None:
            found = exports_of(self.module(key, logs))
            self._exports[key] = found
        return found

    def function(self, module_path: str, name: str, logs: LogSink) -> RegisteredFunction[Any, Any]:
        """The function `name` of `module_path`, or `FunctionNotFound`."""
        file = module_path.removesuffix(".js").removesuffix(".py") + ".py"
        try:
            exports = self.exports(module_path, logs)
        except ModuleNotFoundError as e:
            if e.name is not None and python_module_name(module_path).startswith(e.name):
                raise FunctionNotFound(f"Couldn't find module '{file}'") from None
            raise
        fn = exports.get(name)
        if fn is None:
            raise FunctionNotFound(f"Couldn't find function '{name}' in module '{file}'")
        return fn


def exports_of(module: ModuleType) -> dict[str, RegisteredFunction[Any, Any]]:
    """The `RegisteredFunction`s a module exports, by exported name."""
    listed = module.__dict__.get("__all__")
    out: dict[str, RegisteredFunction[Any, Any]] = {}
    for attr, obj in vars(module).items():
        if not isinstance(obj, RegisteredFunction):
            continue
        if listed is not None:
            if attr not in listed:
                continue
        elif getattr(obj.handler, "__module__", None) != module.__name__:
            continue
        name = obj.name or attr
        if name in out and out[name] is not obj:
            raise ValueError(
                f"Two functions of {module.__name__} are exported as {name!r}: rename one "
                "(or its name=)"
            )
        out[name] = obj
    return out


def find_instance(module: ModuleType, cls: type[T], preferred: str, what: str) -> T | None:
    """The module's `preferred` attribute if it is a `cls`, else its only `cls` instance."""
    candidate = getattr(module, preferred, None)
    if isinstance(candidate, cls):
        return candidate
    found = [obj for obj in vars(module).values() if isinstance(obj, cls)]
    unique = {id(obj): obj for obj in found}
    if len(unique) > 1:
        raise ValueError(
            f"{what}: found several {cls.__name__} objects; name the one to use `{preferred}`"
        )
    return next(iter(unique.values()), None)


def schema_of(module: ModuleType) -> SchemaDefinition:
    """The schema of `schema.py` (the `schema` variable, a `define_schema(...)`)."""
    schema = find_instance(module, SchemaDefinition, "schema", "schema.py")
    if schema is None:
        found = getattr(module, "schema", None)
        got = f" (`schema` is a {type(found).__name__})" if found is not None else ""
        raise ValueError(
            f"schema.py must define `schema = define_schema({{...}})`{got}: see "
            "https://docs.convex.dev/database/schemas"
        )
    return schema


def crons_of(module: ModuleType) -> Crons:
    """The cron jobs of `crons.py` (the `crons` variable, a `Crons()`)."""
    crons = find_instance(module, Crons, "crons", "crons.py")
    if crons is None:
        raise ValueError("crons.py must define `crons = Crons()` and register jobs on it")
    return crons


def router_of(module: ModuleType) -> HttpRouter:
    """The router of `http.py` (the `http` variable, an `HttpRouter()`)."""
    router = find_instance(module, HttpRouter, "http", "http.py")
    if router is None:
        raise ValueError("http.py must define `http = HttpRouter()` and route HTTP actions on it")
    return router


class Loader:
    """The app this worker has imported (one version and environment at a time)."""

    def __init__(self) -> None:
        self.app: App | None = None

    def ensure(
        self,
        version: str,
        directory: str,
        env: dict[str, str],
        import_seed: int,
        import_now: float,
    ) -> App:
        """The app of `version` with `env` applied; re-imports when either changed."""
        env_key = repr(sorted(env.items()))
        app = self.app
        if app is not None and app.version == version and app.env_key == env_key:
            return app
        self._drop()
        sys.path.insert(0, directory)
        importlib.invalidate_caches()
        self.app = App(version, directory, env_key, import_seed, import_now)
        return self.app

    def _drop(self) -> None:
        app, self.app = self.app, None
        prefix = APP_PACKAGE + "."
        for name in [n for n in sys.modules if n == APP_PACKAGE or n.startswith(prefix)]:
            del sys.modules[name]
        if app is not None:
            with contextlib.suppress(ValueError):
                sys.path.remove(app.directory)
