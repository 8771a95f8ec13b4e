"""The Python API for writing Convex functions (PYTHON_API.md), re-exported by `bayou`.

    functions   query, mutation, action, internal_*, http_action → RegisteredFunction
    references  api, internal (api.messages.send is the path "messages:send")
    validators  v (exported as the npm `v` builders' JSON)
    schema      define_schema, define_table
    crons       Crons
    http        HttpRouter, Request, Response
    context     the ctx of each kind of function (sync and async flavours)
    database    ctx.db;  query: ctx.db.query(...) builders and streams
    syscalls    how the API talks to the worker: ops over Convex's syscalls
    values      Python data to Convex values, with helpful errors

This package runs inside the Python worker processes: it imports only `bayou.errors`,
`bayou.values` and itself.
"""

from bayou.errors import ConvexError
from bayou.runtimes.python.api.context import (
    ActionCtx,
    AsyncActionCtx,
    AsyncMutationCtx,
    AsyncQueryCtx,
    MutationCtx,
    QueryCtx,
    UserIdentity,
)
from bayou.runtimes.python.api.crons import Crons
from bayou.runtimes.python.api.functions import (
    RegisteredFunction,
    action,
    http_action,
    internal_action,
    internal_mutation,
    internal_query,
    mutation,
    query,
)
from bayou.runtimes.python.api.http import HttpRouter, Request, Response
from bayou.runtimes.python.api.references import (
    ComponentReference,
    FunctionReference,
    api,
    components,
    internal,
)
from bayou.runtimes.python.api.schema import define_schema, define_table
from bayou.runtimes.python.api.syscalls import BackendError
from bayou.runtimes.python.api.validators import Validator, v
from bayou.values import Int64

__all__ = [
    "ActionCtx",
    "AsyncActionCtx",
    "AsyncMutationCtx",
    "AsyncQueryCtx",
    "BackendError",
    "ComponentReference",
    "ConvexError",
    "Crons",
    "FunctionReference",
    "HttpRouter",
    "Int64",
    "MutationCtx",
    "QueryCtx",
    "RegisteredFunction",
    "Request",
    "Response",
    "UserIdentity",
    "Validator",
    "action",
    "api",
    "components",
    "define_schema",
    "define_table",
    "http_action",
    "internal",
    "internal_action",
    "internal_mutation",
    "internal_query",
    "mutation",
    "query",
    "v",
]
