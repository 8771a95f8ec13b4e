"""The JavaScript runtime: Node workers that run the modules `npx convex deploy` pushes.

The core hands it module sets by version (`JsRuntime.load`), asks for their analysis
(`analyze`) and invokes functions with a `SyscallHandler` that answers Convex's syscalls
(`invoke`). Everything that is a Convex value crosses as JSON text.
"""

from bayou.runtimes.js.analysis import (
    Analysis,
    AnalysisError,
    AnalyzedFunction,
    AnalyzedModule,
    Module,
)
from bayou.runtimes.js.invocation import Invocation, InvocationResult, LogLine, SyscallHandler
from bayou.runtimes.js.node import find_node
from bayou.runtimes.js.runtime import JsRuntime

__all__ = [
    "Analysis",
    "AnalysisError",
    "AnalyzedFunction",
    "AnalyzedModule",
    "Invocation",
    "InvocationResult",
    "JsRuntime",
    "LogLine",
    "Module",
    "SyscallHandler",
    "find_node",
]
