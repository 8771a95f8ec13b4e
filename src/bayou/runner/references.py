"""Function references across components: what `{name | reference | functionHandle}` names.

The npm package's `run*` and scheduler syscalls name their target one of three ways
(`getFunctionAddress`, js-compat.md §2.1):

    {name: "messages:send"}                                    a function of the caller's
                                                               own component
    {reference: "_reference/childComponent/counter/lib/add"}  `components.counter.lib.add`:
                                                               a function of a child
    {reference: "_reference/function/messages:send"}          a component argument's form
    {functionHandle: "function://…#lib:add"}                  `createFunctionHandle(…)`: any
                                                               function, callable from anywhere

Component paths are absolute ("" is the app). A handle encodes its component path and
function path; it survives pushes as long as both exist.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson

from bayou.errors import BadRequest
from bayou.model.deployment import Deployment
from bayou.protocol.function_path import FunctionPath

HANDLE_PREFIX = "function://"


@dataclass(frozen=True, slots=True)
class FunctionTarget:
    component: str  # absolute component path; "" is the app
    path: FunctionPath
    # Reached through `components.<child>…`: only the child's public functions are exports.
    across: bool = False


def resolve(deployment: Deployment, caller: str, args: dict[str, Any]) -> FunctionTarget:
    """The function a syscall's function address names, seen from component `caller`."""
    name, reference, handle = args.get("name"), args.get("reference"), args.get("functionHandle")
    if isinstance(handle, str) or (isinstance(name, str) and name.startswith(HANDLE_PREFIX)):
        return parse_handle(handle if isinstance(handle, str) else name)  # type: ignore[arg-type]
    if isinstance(name, str):
        return FunctionTarget(caller, FunctionPath.parse(name))
    if isinstance(reference, str):
        return _resolve_reference(deployment, caller, reference)
    raise BadRequest(
        "A function reference needs a `name`, `reference` or `functionHandle`",
        code="InvalidSyscall",
    )


def _resolve_reference(deployment: Deployment, caller: str, reference: str) -> FunctionTarget:
    parts = reference.split("/")
    if len(parts) >= 3 and parts[:2] == ["_reference", "function"]:
        return FunctionTarget(caller, FunctionPath.parse("/".join(parts[2:])))
    if len(parts) >= 3 and parts[:2] == ["_reference", "childComponent"]:
        child, attributes = parts[2], parts[3:]
        path = f"{caller}/{child}" if caller else child
        if path not in deployment.components:
            where = f"component {caller!r}" if caller else "the app"
            raise BadRequest(
                f"Couldn't resolve {'.'.join(['components', child, *attributes])}: {where} "
                f"has no child component {child!r} (is it installed in convex.config?)",
                code="InvalidReference",
            )
        if len(attributes) < 2:
            raise BadRequest(
                f"Couldn't resolve {'.'.join(['components', child, *attributes])}: name a "
                "function of the component, like components.counter.lib.add",
                code="InvalidReference",
            )
        function = FunctionPath.parse("/".join(attributes[:-1]) + ":" + attributes[-1])
        return FunctionTarget(path, function, across=True)
    raise BadRequest(f"Invalid reference: {reference}", code="InvalidReference")


def function_handle(target: FunctionTarget) -> str:
    """`function://<token>#<path>`: the token names the component and function."""
    token = orjson.dumps([target.component, target.path.canonical])
    encoded = base64.urlsafe_b64encode(token).decode().rstrip("=")
    return f"{HANDLE_PREFIX}{encoded}#{target.path}"


def parse_handle(handle: str) -> FunctionTarget:
    body = handle.removeprefix(HANDLE_PREFIX).partition("#")[0]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        component, path = orjson.loads(raw)
        if not isinstance(component, str) or not isinstance(path, str):
            raise ValueError
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise BadRequest(f"Invalid function handle {handle}", code="InvalidReference") from None
    return FunctionTarget(component, FunctionPath.parse(path))


def describe(target: FunctionTarget) -> str:
    """How messages name a function: `lib:add` in the app, `counter/lib:add` elsewhere…
    (Convex prints the component path before the function path)."""
    return f"{target.component}/{target.path}" if target.component else str(target.path)
