"""The function decorators: `query`, `mutation`, `action`, their `internal_` forms and
`http_action`.

    @query(args={"channel": v.id("channels")}, returns=v.array(v.any()))
    def list(ctx, channel): ...

A decorated handler becomes a `RegisteredFunction`: the worker finds it in its module,
analysis exports its validators as the npm package's `exportArgs()` / `exportReturns()`
JSON, and calling it directly still calls the handler (handy in unit tests). Mismatches
between `args=` and the handler's parameters are reported when the module is imported,
with the file, the function and the fix.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Generic, Literal, ParamSpec, TypeVar, overload

from bayou.runtimes.python.api.validators import (
    ObjectValidator,
    Validator,
    as_object_validator,
)
from bayou.runtimes.python.api.values import js_json_text

P = ParamSpec("P")
R = TypeVar("R")

UdfType = Literal["Query", "Mutation", "Action", "HttpAction"]
Visibility = Literal["public", "internal"]

APP_PACKAGE = "convex"
"""The package name the worker imports the pushed functions folder as."""

_EXPORT_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_DECORATOR_NAMES = {
    ("Query", "public"): "query",
    ("Query", "internal"): "internal_query",
    ("Mutation", "public"): "mutation",
    ("Mutation", "internal"): "internal_mutation",
    ("Action", "public"): "action",
    ("Action", "internal"): "internal_action",
    ("HttpAction", None): "http_action",
}


def module_file(module_name: str) -> str | None:
    """`admin/users.py` for the app module `convex.admin.users` (None outside the app)."""
    prefix = APP_PACKAGE + "."
    if not module_name.startswith(prefix):
        return None
    return module_name[len(prefix) :].replace(".", "/") + ".py"


def source_location(fn: Callable[..., Any]) -> str:
    """Where a handler is defined: `messages.py:12` (relative to the functions folder)."""
    code = getattr(fn, "__code__", None)
    line = code.co_firstlineno if code is not None else 0
    file = module_file(getattr(fn, "__module__", "") or "")
    if file is None:
        file = code.co_filename if code is not None else "<unknown>"
    return f"{file}:{line}"


class RegisteredFunction(Generic[P, R]):
    """A Convex function: a handler with its kind, visibility and validators.

    Call it like the handler (`send(ctx, body="hi")`) in tests; the backend calls it with a
    fresh `ctx` and the arguments as keyword arguments.
    """

    def __init__(
        self,
        handler: Callable[P, R],
        udf_type: UdfType,
        visibility: Visibility | None,
        *,
        args: Mapping[str, Validator] | Validator | None = None,
        returns: Mapping[str, Validator] | Validator | None = None,
        name: str | None = None,
    ) -> None:
        decorator = _DECORATOR_NAMES[(udf_type, visibility)]
        if not callable(handler):
            raise TypeError(f"@{decorator} must decorate a function, not {handler!r}")
        where = f"@{decorator} {getattr(handler, '__qualname__', handler)!s} ({source_location(handler)})"
        if name is not None and (not isinstance(name, str) or not _EXPORT_NAME.match(name)):
            raise ValueError(
                f"{where}: name={name!r} is not a valid function name (letters, digits, _ and "
                "$, not starting with a digit)"
            )
        self.handler = handler
        self.__wrapped__ = handler
        self.__doc__ = getattr(handler, "__doc__", None)
        self.udf_type: UdfType = udf_type
        self.visibility: Visibility | None = visibility
        self.name = name
        self.is_async = inspect.iscoroutinefunction(handler)
        self.args = _args_validator(args, where)
        self.returns = (
            None if returns is None else as_object_validator(returns, f"{where}: returns=")
        )
        self.signature = _check_signature(handler, self.args, udf_type, where)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.handler(*args, **kwargs)

    @property
    def export_name(self) -> str:
        """The name the function is exported under (`name=`, else the handler's name)."""
        return self.name or str(getattr(self.handler, "__name__", "default"))

    @property
    def function_path(self) -> str:
        """`"admin/users:get"` for a function defined in the app module `admin/users.py`."""
        file = module_file(getattr(self.handler, "__module__", "") or "")
        if file is None:
            raise ValueError(
                f"{self!r} is not defined in the functions folder, so it has no path: use "
                "api.module.function or a path string"
            )
        return f"{file[:-3]}:{self.export_name}"

    def export_args(self) -> str:
        """The JSON text of `exportArgs()`: the args object validator, or `v.any()`."""
        if self.udf_type == "HttpAction":
            raise TypeError("HTTP actions have no args validator")
        return js_json_text(self.args.json if self.args is not None else {"type": "any"})

    def export_returns(self) -> str:
        """The JSON text of `exportReturns()`: `"null"` when there is no `returns=`."""
        if self.udf_type == "HttpAction":
            raise TypeError("HTTP actions have no returns validator")
        return js_json_text(self.returns.json if self.returns is not None else None)

    def __repr__(self) -> str:
        decorator = _DECORATOR_NAMES[(self.udf_type, self.visibility)]
        return f"<{decorator} {getattr(self.handler, '__qualname__', self.handler)}>"


def _args_validator(args: object, where: str) -> Validator | None:
    if args is None:
        return None
    validator = as_object_validator(args, f"{where}: args=")
    if validator.json["type"] not in ("object", "any"):
        raise TypeError(
            f"{where}: args= must be a dict of validators or v.object({{...}}), not {validator!r}"
        )
    return validator


def _check_signature(
    handler: Callable[..., Any], args: Validator | None, udf_type: UdfType, where: str
) -> inspect.Signature:
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: cannot read the handler's signature") from None
    params = list(signature.parameters.values())
    if not params or params[0].kind not in _POSITIONAL:
        raise TypeError(f"{where}: the handler must take `ctx` as its first parameter")
    rest = params[1:]
    if udf_type == "HttpAction":
        if len(rest) != 1 or rest[0].kind not in _POSITIONAL:
            raise TypeError(f"{where}: an HTTP action handler takes (ctx, request)")
        return signature
    for p in rest:
        if p.kind in _POSITIONAL and p.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise TypeError(
                f"{where}: the parameter `{p.name}` is positional-only, but arguments arrive "
                "as keyword arguments"
            )
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            raise TypeError(
                f"{where}: *{p.name} cannot receive anything: arguments arrive as keyword "
                "arguments (use **kwargs to accept any)"
            )
    if not isinstance(args, ObjectValidator):
        return signature
    fields = args.fields
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in rest)
    named = {p.name: p for p in rest if p.kind is not inspect.Parameter.VAR_KEYWORD}
    fn = getattr(handler, "__name__", "handler")
    for field, validator in fields.items():
        param = named.get(field)
        if param is None and not var_kw:
            raise TypeError(
                f"{where}: args declares `{field}` but the handler has no parameter "
                f"`{field}`: add it (def {fn}(ctx, ..., {field})) or accept **kwargs"
            )
        if param is not None and validator.is_optional and param.default is param.empty:
            raise TypeError(
                f"{where}: `{field}` is optional (v.optional) and may be missing, so its "
                f"parameter needs a default: {field}=None"
            )
    for pname, param in named.items():
        if pname not in fields and param.default is param.empty:
            raise TypeError(
                f"{where}: the parameter `{pname}` is not declared in args=, so callers can "
                f'never pass it: add "{pname}": v.…() to args= or give it a default'
            )
    return signature


class FunctionDecorator:
    """Registers a handler as a Convex function (use with or without arguments)."""

    def __init__(self, udf_type: UdfType, visibility: Visibility | None, doc: str) -> None:
        self._udf_type: UdfType = udf_type
        self._visibility: Visibility | None = visibility
        self.__doc__ = doc

    @overload
    def __call__(self, handler: Callable[P, R], /) -> RegisteredFunction[P, R]: ...

    @overload
    def __call__(
        self,
        *,
        args: Mapping[str, Validator] | Validator | None = None,
        returns: Mapping[str, Validator] | Validator | None = None,
        name: str | None = None,
    ) -> Callable[[Callable[P, R]], RegisteredFunction[P, R]]: ...

    def __call__(  # type: ignore[misc]  # mypy misreads the keyword-only overload
        self,
        handler: Callable[..., Any] | None = None,
        /,
        *,
        args: Mapping[str, Validator] | Validator | None = None,
        returns: Mapping[str, Validator] | Validator | None = None,
        name: str | None = None,
    ) -> Any:
        udf_type, visibility = self._udf_type, self._visibility

        def register(fn: Callable[..., Any]) -> RegisteredFunction[Any, Any]:
            return RegisteredFunction(
                fn, udf_type, visibility, args=args, returns=returns, name=name
            )

        if handler is not None:
            return register(handler)
        return register

    def __repr__(self) -> str:
        return f"<bayou.{_DECORATOR_NAMES[(self._udf_type, self._visibility)]}>"


_DOC = """Register {what}.

    @{name}(args={{"x": v.float64()}}, returns=v.float64())
    def double(ctx, x):
        return 2 * x

`args=` (a dict of validators) declares the keyword arguments, validated before the call;
`returns=` validates the result; `name=` overrides the exported name. `def` and `async def`
handlers are both accepted (an `async def` handler gets a ctx whose methods are awaited).
"""

query: Final = FunctionDecorator(
    "Query", "public", _DOC.format(what="a public query (read-only, reactive)", name="query")
)
internal_query: Final = FunctionDecorator(
    "Query",
    "internal",
    _DOC.format(what="an internal query (callable from functions only)", name="internal_query"),
)
mutation: Final = FunctionDecorator(
    "Mutation", "public", _DOC.format(what="a public mutation (a transaction)", name="mutation")
)
internal_mutation: Final = FunctionDecorator(
    "Mutation",
    "internal",
    _DOC.format(
        what="an internal mutation (callable from functions only)", name="internal_mutation"
    ),
)
action: Final = FunctionDecorator(
    "Action", "public", _DOC.format(what="a public action (network, any library)", name="action")
)
internal_action: Final = FunctionDecorator(
    "Action",
    "internal",
    _DOC.format(what="an internal action (callable from functions only)", name="internal_action"),
)
http_action: Final = FunctionDecorator(
    "HttpAction",
    None,
    """Register an HTTP action: `def handler(ctx, request) -> Response`, routed by an
`HttpRouter` in `http.py`.""",
)
