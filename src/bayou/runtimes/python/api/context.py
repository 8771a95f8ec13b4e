"""`ctx`: what a function can do besides its arguments.

| kind     | `def` handler   | `async def` handler | has                                           |
|----------|-----------------|---------------------|-----------------------------------------------|
| query    | `QueryCtx`      | `AsyncQueryCtx`     | db (read), auth, storage (urls), run_query    |
| mutation | `MutationCtx`   | `AsyncMutationCtx`  | + db writes, scheduler, storage, run_mutation |
| action   | `ActionCtx`     | `AsyncActionCtx`    | auth, scheduler, storage, run_query/mutation/action, vector_search |

Every method is one or a few syscalls with the npm package's names and JSON; the methods of
the async contexts are awaited. HTTP actions get an action context.
"""

from __future__ import annotations

import base64
import datetime
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, overload

from bayou.runtimes.python.api.database import (
    AsyncDatabaseReader,
    AsyncDatabaseWriter,
    DatabaseReader,
    DatabaseWriter,
)
from bayou.runtimes.python.api.query import VectorFilter, serialize_expression
from bayou.runtimes.python.api.references import function_address
from bayou.runtimes.python.api.syscalls import SYSCALL_VERSION, CallInfo, Op, arun, run
from bayou.runtimes.python.api.values import to_convex
from bayou.values.json import from_json, to_json

_T = TypeVar("_T")

# --------------------------------------------------------------------------- ops


def _args_json(args: Mapping[str, Any] | None, where: str) -> Any:
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise TypeError(
            f"{where}: the arguments to a Convex function must be a dict. Received: {args!r}"
        )
    return to_json(to_convex(dict(args), where))


class _Claim(Generic[_T]):
    """A standard field of `UserIdentity`, read from its JSON name (None when absent)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.__doc__ = f"`{key}` of the identity, or None when the token has no such claim."

    @overload
    def __get__(self, identity: None, owner: type) -> _Claim[_T]: ...
    @overload
    def __get__(self, identity: UserIdentity, owner: type) -> _T | None: ...
    def __get__(self, identity: UserIdentity | None, owner: type) -> Any:
        if identity is None:
            return self
        return identity.get(self.key)


class UserIdentity(dict[str, Any]):
    """The signed-in user, as `ctx.auth.get_user_identity()` returns it: the JSON object
    Convex's `getUserIdentity()` returns (so it compares, serializes and can be returned
    like a dict), with its standard fields as attributes::

        identity = ctx.auth.get_user_identity()
        if identity is None:
            raise ConvexError("Not signed in")
        identity.token_identifier      # "https://issuer.example.com|user_123", always set
        identity.subject, identity.issuer
        identity.email                 # None when the token has no such claim
        identity["org.id"]             # any other claim, by its name (KeyError if absent)
    """

    __slots__ = ()

    @property
    def token_identifier(self) -> str:
        """`"<issuer>|<subject>"`: the stable key of this user, for this provider."""
        return str(self["tokenIdentifier"])

    @property
    def subject(self) -> str:
        """The user's id at the provider (`sub`)."""
        return str(self.get("subject", ""))

    @property
    def issuer(self) -> str:
        """The provider that signed the token (`iss`)."""
        return str(self.get("issuer", ""))

    name: _Claim[str] = _Claim("name")
    given_name: _Claim[str] = _Claim("givenName")
    family_name: _Claim[str] = _Claim("familyName")
    nickname: _Claim[str] = _Claim("nickname")
    preferred_username: _Claim[str] = _Claim("preferredUsername")
    profile_url: _Claim[str] = _Claim("profileUrl")
    picture_url: _Claim[str] = _Claim("pictureUrl")
    website_url: _Claim[str] = _Claim("websiteUrl")
    email: _Claim[str] = _Claim("email")
    email_verified: _Claim[bool] = _Claim("emailVerified")
    gender: _Claim[str] = _Claim("gender")
    birthday: _Claim[str] = _Claim("birthday")
    timezone: _Claim[str] = _Claim("timezone")
    language: _Claim[str] = _Claim("language")
    phone_number: _Claim[str] = _Claim("phoneNumber")
    phone_number_verified: _Claim[bool] = _Claim("phoneNumberVerified")
    address: _Claim[str] = _Claim("address")
    updated_at: _Claim[str] = _Claim("updatedAt")  # RFC 3339

    def __repr__(self) -> str:
        return f"UserIdentity({dict.__repr__(self)})"


def _identity(info: CallInfo) -> Op[UserIdentity | None]:
    result = yield ("1.0/getUserIdentity", {"requestId": info.syscall_request_id})
    return None if result is None else UserIdentity(result)


def _run_udf(info: CallInfo, kind: str, reference: Any, args: Any) -> Op[Any]:
    where = f"ctx.run_{kind}"
    if info.udf_type == "action":
        syscall = {
            **function_address(reference, where),
            "args": _args_json(args, where),
            "version": SYSCALL_VERSION,
            "requestId": info.request_id,
        }
        result = yield (f"1.0/actions/{kind}", syscall)
    else:
        syscall = {"udfType": kind, "args": _args_json(args, where)}
        syscall.update(function_address(reference, where))
        result = yield ("1.0/runUdf", syscall)
    return from_json(result, ints=True)


def _create_function_handle(reference: Any) -> Op[str]:
    address = function_address(reference, "ctx.create_function_handle")
    result = yield ("1.0/createFunctionHandle", {**address, "version": SYSCALL_VERSION})
    return str(result)


def _now_ms(info: CallInfo) -> float:
    return info.now_ms if info.now_ms is not None else time.time() * 1000.0


def _schedule(info: CallInfo, ts_seconds: float, reference: Any, args: Any, where: str) -> Op[str]:
    body = {
        **function_address(reference, where),
        "ts": ts_seconds,
        "args": _args_json(args, where),
        "version": SYSCALL_VERSION,
    }
    if info.udf_type == "action":
        result = yield ("1.0/actions/schedule", {"requestId": info.request_id, **body})
    else:
        result = yield ("1.0/schedule", body)
    return str(result)


def _delay_seconds(delay: float | datetime.timedelta) -> float:
    if isinstance(delay, datetime.timedelta):
        seconds = delay.total_seconds()
    elif isinstance(delay, (int, float)) and not isinstance(delay, bool):
        seconds = float(delay)
    else:
        raise TypeError("run_after() needs a delay in seconds or a datetime.timedelta")
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError("run_after(): the delay must be a finite number")
    if seconds < 0:
        raise ValueError("run_after(): the delay must be non-negative")
    return seconds


def _at_seconds(when: float | datetime.datetime) -> float:
    if isinstance(when, datetime.datetime):
        if when.tzinfo is None:
            raise ValueError(
                "run_at(): give an aware datetime (e.g. datetime.now(timezone.utc)); a naive "
                "one has no defined instant"
            )
        return when.timestamp()
    if isinstance(when, (int, float)) and not isinstance(when, bool):
        return float(when) / 1000.0
    raise TypeError("run_at() needs a datetime or a timestamp in milliseconds since the epoch")


def _cancel(info: CallInfo, id: str) -> Op[None]:
    if not isinstance(id, str):
        raise TypeError(f"scheduler.cancel() needs a scheduled function id, not {id!r}")
    if info.udf_type == "action":
        yield ("1.0/actions/cancel_job", {"requestId": info.request_id, "id": id})
    else:
        yield ("1.0/cancel_job", {"id": id})
    return None


def _storage(info: CallInfo, op: str, storage_id: str | None = None) -> Op[Any]:
    args: dict[str, Any] = {"requestId": info.syscall_request_id, "version": SYSCALL_VERSION}
    if storage_id is not None:
        if not isinstance(storage_id, str):
            raise TypeError(f"A storage id must be a string, not {storage_id!r}")
        args["storageId"] = storage_id
    return (yield (op, args))


def _storage_get(info: CallInfo, storage_id: str) -> Op[bytes | None]:
    result = yield from _storage(info, "1.0/storageGet", storage_id)
    if result is None:
        return None
    return base64.b64decode(result["blob"])


def _storage_store(
    info: CallInfo, data: bytes, content_type: str | None, sha256: str | None
) -> Op[str]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"storage.store() needs bytes, not {type(data).__name__}")
    args: dict[str, Any] = {
        "requestId": info.syscall_request_id,
        "version": SYSCALL_VERSION,
        "blob": base64.b64encode(bytes(data)).decode("ascii"),
        "contentType": content_type or "",
    }
    if sha256 is not None:
        args["sha256"] = sha256
    return str((yield ("1.0/storageStore", args)))


def _vector_search(
    info: CallInfo, table: str, index: str, query: Mapping[str, Any]
) -> Op[list[dict[str, Any]]]:
    vector = query.get("vector") if isinstance(query, Mapping) else None
    if not isinstance(vector, (list, tuple)) or not vector:
        raise ValueError("`vector` must be a non-empty list in vector_search")
    filter_fn: Callable[[VectorFilter], Any] | None = query.get("filter")
    expressions = None if filter_fn is None else serialize_expression(filter_fn(VectorFilter()))
    body: dict[str, Any] = {"indexName": f"{table}.{index}"}
    if query.get("limit") is not None:
        body["limit"] = float(query["limit"])
    body["vector"] = [float(x) for x in vector]
    body["expressions"] = expressions
    args = {"requestId": info.request_id, "version": SYSCALL_VERSION, "query": body}
    result = yield ("1.0/actions/vectorSearch", args)
    return [from_json(r) for r in result["results"]]  # type: ignore[misc]


# --------------------------------------------------------------------------- sync parts


class Auth:
    """`ctx.auth`."""

    __slots__ = ("_info",)

    def __init__(self, info: CallInfo) -> None:
        self._info = info

    def get_user_identity(self) -> UserIdentity | None:
        """The signed-in user (`UserIdentity`: `token_identifier`, `subject`, `issuer`, the
        standard claims as attributes, any claim as `identity["name"]`), or None."""
        return run(self._info, _identity(self._info))


class Scheduler:
    """`ctx.scheduler`: run mutations and actions later."""

    __slots__ = ("_info",)

    def __init__(self, info: CallInfo) -> None:
        self._info = info

    def run_after(
        self,
        delay: float | datetime.timedelta,
        reference: Any,
        args: Mapping[str, Any] | None = None,
    ) -> str:
        """Run `reference(args)` after `delay` seconds; returns the scheduled function's id."""
        ts = (_now_ms(self._info) / 1000.0) + _delay_seconds(delay)
        return run(self._info, _schedule(self._info, ts, reference, args, "run_after()"))

    def run_at(
        self,
        when: float | datetime.datetime,
        reference: Any,
        args: Mapping[str, Any] | None = None,
    ) -> str:
        """Run `reference(args)` at `when` (an aware datetime, or ms since the epoch)."""
        ts = _at_seconds(when)
        return run(self._info, _schedule(self._info, ts, reference, args, "run_at()"))

    def cancel(self, id: str) -> None:
        """Cancel a scheduled function that has not finished."""
        run(self._info, _cancel(self._info, id))


class StorageReader:
    """`ctx.storage` of a query."""

    __slots__ = ("_info",)

    def __init__(self, info: CallInfo) -> None:
        self._info = info

    def get_url(self, storage_id: str) -> str | None:
        """A URL that serves the file, or None when it does not exist."""
        return run(self._info, _storage(self._info, "1.0/storageGetUrl", storage_id))  # type: ignore[no-any-return]

    def get_metadata(self, storage_id: str) -> dict[str, Any] | None:
        """`{storageId, sha256, size, contentType}` (deprecated: read `_storage` instead)."""
        return run(self._info, _storage(self._info, "1.0/storageGetMetadata", storage_id))  # type: ignore[no-any-return]


class StorageWriter(StorageReader):
    """`ctx.storage` of a mutation."""

    __slots__ = ()

    def generate_upload_url(self) -> str:
        """A short-lived URL a client can POST a file to (it answers `{"storageId"}`)."""
        return str(run(self._info, _storage(self._info, "1.0/storageGenerateUploadUrl")))

    def delete(self, storage_id: str) -> None:
        """Delete a stored file."""
        run(self._info, _storage(self._info, "1.0/storageDelete", storage_id))


class StorageActionWriter(StorageWriter):
    """`ctx.storage` of an action: also reads and stores file contents."""

    __slots__ = ()

    def get(self, storage_id: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        return run(self._info, _storage_get(self._info, storage_id))

    def store(
        self, data: bytes, content_type: str | None = None, *, sha256: str | None = None
    ) -> str:
        """Store `data`; returns the new file's storage id."""
        return run(self._info, _storage_store(self._info, data, content_type, sha256))


class QueryCtx:
    """The `ctx` of a `def` query."""

    __slots__ = ("_info", "auth", "db", "storage")

    def __init__(self, info: CallInfo) -> None:
        self._info = info
        self.db = DatabaseReader(info)
        self.auth = Auth(info)
        self.storage = StorageReader(info)

    def run_query(self, reference: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run a query in this function's transaction and return its result."""
        return run(self._info, _run_udf(self._info, "query", reference, args))


class MutationCtx:
    """The `ctx` of a `def` mutation."""

    __slots__ = ("_info", "auth", "db", "scheduler", "storage")

    def __init__(self, info: CallInfo) -> None:
        self._info = info
        self.db = DatabaseWriter(info)
        self.auth = Auth(info)
        self.storage = StorageWriter(info)
        self.scheduler = Scheduler(info)

    def run_query(self, reference: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run a query in this mutation's transaction and return its result."""
        return run(self._info, _run_udf(self._info, "query", reference, args))

    def run_mutation(self, reference: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run a mutation as a sub-transaction: if it raises, only its writes roll back."""
        return run(self._info, _run_udf(self._info, "mutation", reference, args))

    def create_function_handle(self, reference: Any) -> str:
        """A `function://…` string naming the function, which a component can store and
        later call or schedule (what `createFunctionHandle` is in the npm package)."""
        return run(self._info, _create_function_handle(reference))


class ActionCtx:
    """The `ctx` of a `def` action (and of HTTP actions)."""

    __slots__ = ("_info", "auth", "scheduler", "storage")

    def __init__(self, info: CallInfo) -> None:
        self._info = info
        self.auth = Auth(info)
        self.storage = StorageActionWriter(info)
        self.scheduler = Scheduler(info)

    def run_query(self, reference: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run a query (its own transaction, at the latest data)."""
        return run(self._info, _run_udf(self._info, "query", reference, args))

    def run_mutation(self, reference: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run a mutation (its own transaction)."""
        return run(self._info, _run_udf(self._info, "mutation", reference, args))

    def run_action(self, reference: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run another action."""
        return run(self._info, _run_udf(self._info, "action", reference, args))

    def create_function_handle(self, reference: Any) -> str:
        """A `function://…` string naming the function (see `MutationCtx`)."""
        return run(self._info, _create_function_handle(reference))

    def vector_search(
        self, table: str, index: str, query: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """`[{"_id", "_score"}]` nearest to `query["vector"]` (`limit`, `filter=lambda q: …`)."""
        return run(self._info, _vector_search(self._info, table, index, query))


# --------------------------------------------------------------------------- async parts


class AsyncAuth:
    """`ctx.auth` of an `async def` function."""

    __slots__ = ("_info",)

    def __init__(self, info: CallInfo) -> None:
        self._info = info

    async def get_user_identity(self) -> UserIdentity | None:
        """The signed-in user (`UserIdentity`), or None."""
        return await arun(self._info, _identity(self._info))


class AsyncScheduler:
    """`ctx.scheduler` of an `async def` function."""

    __slots__ = ("_info",)

    def __init__(self, info: CallInfo) -> None:
        self._info = info

    async def run_after(
        self,
        delay: float | datetime.timedelta,
        reference: Any,
        args: Mapping[str, Any] | None = None,
    ) -> str:
        """Run `reference(args)` after `delay` seconds; returns the scheduled function's id."""
        ts = (_now_ms(self._info) / 1000.0) + _delay_seconds(delay)
        return await arun(self._info, _schedule(self._info, ts, reference, args, "run_after()"))

    async def run_at(
        self,
        when: float | datetime.datetime,
        reference: Any,
        args: Mapping[str, Any] | None = None,
    ) -> str:
        """Run `reference(args)` at `when` (an aware datetime, or ms since the epoch)."""
        ts = _at_seconds(when)
        return await arun(self._info, _schedule(self._info, ts, reference, args, "run_at()"))

    async def cancel(self, id: str) -> None:
        """Cancel a scheduled function that has not finished."""
        await arun(self._info, _cancel(self._info, id))


class AsyncStorageReader:
    """`ctx.storage` of an `async def` query."""

    __slots__ = ("_info",)

    def __init__(self, info: CallInfo) -> None:
        self._info = info

    async def get_url(self, storage_id: str) -> str | None:
        """A URL that serves the file, or None when it does not exist."""
        url: str | None = await arun(
            self._info, _storage(self._info, "1.0/storageGetUrl", storage_id)
        )
        return url

    async def get_metadata(self, storage_id: str) -> dict[str, Any] | None:
        """`{storageId, sha256, size, contentType}` (deprecated: read `_storage` instead)."""
        op = _storage(self._info, "1.0/storageGetMetadata", storage_id)
        metadata: dict[str, Any] | None = await arun(self._info, op)
        return metadata


class AsyncStorageWriter(AsyncStorageReader):
    """`ctx.storage` of an `async def` mutation."""

    __slots__ = ()

    async def generate_upload_url(self) -> str:
        """A short-lived URL a client can POST a file to."""
        return str(await arun(self._info, _storage(self._info, "1.0/storageGenerateUploadUrl")))

    async def delete(self, storage_id: str) -> None:
        """Delete a stored file."""
        await arun(self._info, _storage(self._info, "1.0/storageDelete", storage_id))


class AsyncStorageActionWriter(AsyncStorageWriter):
    """`ctx.storage` of an `async def` action."""

    __slots__ = ()

    async def get(self, storage_id: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        return await arun(self._info, _storage_get(self._info, storage_id))

    async def store(
        self, data: bytes, content_type: str | None = None, *, sha256: str | None = None
    ) -> str:
        """Store `data`; returns the new file's storage id."""
        return await arun(self._info, _storage_store(self._info, data, content_type, sha256))


class AsyncQueryCtx:
    """The `ctx` of an `async def` query."""

    __slots__ = ("_info", "auth", "db", "storage")

    def __init__(self, info: CallInfo) -> None:
        self._info = info
        self.db = AsyncDatabaseReader(info)
        self.auth = AsyncAuth(info)
        self.storage = AsyncStorageReader(info)

    async def run_query(self, reference: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run a query in this function's transaction and return its result."""
        return await arun(self._info, _run_udf(self._info, "query", reference, args))


class AsyncMutationCtx:
    """The `ctx` of an `async def` mutation."""

    __slots__ = ("_info", "auth", "db", "scheduler", "storage")

    def __init__(self, info: CallInfo) -> None:
        self._info = info
        self.db = AsyncDatabaseWriter(info)
        self.auth = AsyncAuth(info)
        self.storage = AsyncStorageWriter(info)
        self.scheduler = AsyncScheduler(info)

    async def run_query(self, reference: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run a query in this mutation's transaction and return its result."""
        return await arun(self._info, _run_udf(self._info, "query", reference, args))

    async def run_mutation(self, reference: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run a mutation as a sub-transaction: if it raises, only its writes roll back."""
        return await arun(self._info, _run_udf(self._info, "mutation", reference, args))

    async def create_function_handle(self, reference: Any) -> str:
        """A `function://…` string naming the function (see `MutationCtx`)."""
        return await arun(self._info, _create_function_handle(reference))


class AsyncActionCtx:
    """The `ctx` of an `async def` action (and of async HTTP actions)."""

    __slots__ = ("_info", "auth", "scheduler", "storage")

    def __init__(self, info: CallInfo) -> None:
        self._info = info
        self.auth = AsyncAuth(info)
        self.storage = AsyncStorageActionWriter(info)
        self.scheduler = AsyncScheduler(info)

    async def run_query(self, reference: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run a query (its own transaction, at the latest data)."""
        return await arun(self._info, _run_udf(self._info, "query", reference, args))

    async def run_mutation(self, reference: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run a mutation (its own transaction)."""
        return await arun(self._info, _run_udf(self._info, "mutation", reference, args))

    async def run_action(self, reference: Any, args: Mapping[str, Any] | None = None) -> Any:
        """Run another action."""
        return await arun(self._info, _run_udf(self._info, "action", reference, args))

    async def create_function_handle(self, reference: Any) -> str:
        """A `function://…` string naming the function (see `MutationCtx`)."""
        return await arun(self._info, _create_function_handle(reference))

    async def vector_search(
        self, table: str, index: str, query: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """`[{"_id", "_score"}]` nearest to `query["vector"]`."""
        return await arun(self._info, _vector_search(self._info, table, index, query))


def make_ctx(info: CallInfo, *, is_async: bool) -> Any:
    """The context object for a call of this kind and handler flavour."""
    kind = info.udf_type
    if kind == "query":
        return AsyncQueryCtx(info) if is_async else QueryCtx(info)
    if kind == "mutation":
        return AsyncMutationCtx(info) if is_async else MutationCtx(info)
    return AsyncActionCtx(info) if is_async else ActionCtx(info)
