"""One function call handed to the JS runtime, the handler of its syscalls, and its result.

Everything that is a Convex value crosses as JSON text (`args_json`, `value_json`,
`error_data_json`) so the core decodes values once. Syscall arguments and results are
parsed JSON (dicts, lists, str, float …): the handler sees them the way Convex's
`reference/js-compat.md` §2.1 writes them.
"""

from __future__ import annotations

from bayou.runtimes.base import (
    DEFAULT_TIMEOUTS_S,
    Invocation,
    InvocationResult,
    LogLine,
    SyscallHandler,
    UdfKind,
    deferred_write,
)

__all__ = [
    "DEFAULT_TIMEOUTS_S",
    "Invocation",
    "InvocationResult",
    "LogLine",
    "SyscallHandler",
    "UdfKind",
    "deferred_write",
]
