"""One error tree for all of Bayou, carrying Convex's short error codes.

    BayouError                      code, message, HTTP status
    ├── BadRequest          400     malformed input: bad ids, values, ranges, validators …
    │   └── ValidationError         a value that does not match a validator
    ├── Unauthenticated     401     a credential that could not be verified
    ├── Forbidden           403     a verified credential without the right
    ├── NotFound            404
    ├── Conflict            409
    ├── Overloaded          503     retry later: OCC failures, full queues
    │   └── OccError                OptimisticConcurrencyControlFailure
    ├── Timeout             503     a function ran past its time limit
    └── InternalError       500     a bug or a broken dependency
    ConvexError                     an application error thrown by user code, with `data`

A request that fails before a function runs becomes a non-2xx `{"code", "message"}`
response; an error raised while a function runs becomes that function's error result.
Messages say what to change, because they are what users read.
"""

from __future__ import annotations

from typing import Any


class BayouError(Exception):
    """Base of every error Bayou raises on purpose."""

    status: int = 500
    default_code: str = "InternalServerError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, str]:
        """The body of a request-level error response."""
        return {"code": self.code, "message": self.message}


class BadRequest(BayouError):
    status = 400
    default_code = "BadRequest"


class ValidationError(BadRequest):
    """A value failed a validator; `path` locates the offending part (`.a[2].b`)."""

    default_code = "ValidationError"

    def __init__(self, message: str, *, path: str = "", code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.path = path


class Unauthenticated(BayouError):
    status = 401
    default_code = "Unauthenticated"


class Forbidden(BayouError):
    status = 403
    default_code = "Forbidden"


class NotFound(BayouError):
    status = 404
    default_code = "NotFound"


class Conflict(BayouError):
    status = 409
    default_code = "Conflict"


class Overloaded(BayouError):
    status = 503
    default_code = "Overloaded"


class RateLimited(BayouError):
    """Convex's `RateLimited` errors (HTTP 429), e.g. `TooManyConcurrentRequests`."""

    status = 429
    default_code = "RateLimited"


class OccError(Overloaded):
    """A transaction's reads were overwritten by a concurrent commit."""

    default_code = "OptimisticConcurrencyControlFailure"

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        conflict_ts: int | None = None,
        conflict_key: tuple[bytes, bytes] | None = None,
    ) -> None:
        super().__init__(message)
        self.table = table
        # The commit this transaction lost to: a retry must read at or after it.
        self.conflict_ts = conflict_ts
        # The (index id, key) it lost on: the retry takes that key's admission lock.
        self.conflict_key = conflict_key


class Timeout(BayouError):
    status = 503
    default_code = "SystemTimeoutError"


class InternalError(BayouError):
    status = 500
    default_code = "InternalServerError"


class ConvexError(Exception):
    """An application error: `data` (any Convex value) reaches the client unchanged.

    Raise it from a function to tell the caller something it can act on::

        raise ConvexError({"code": "EMPTY_MESSAGE"})
    """

    def __init__(self, data: Any = None, *, message: str | None = None) -> None:
        self.data = data
        # `message`: the whole text of a ConvexError rethrown from a nested call.
        self.explicit_message = message
        super().__init__(message or (data if isinstance(data, str) else repr(data)))
