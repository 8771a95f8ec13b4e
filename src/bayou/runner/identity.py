"""Who is calling a function: nobody, a user (JWT), an admin (key), or the system."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from bayou.auth.admin_key import AdminIdentity
from bayou.errors import BayouError


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller of a function; `user` is what `ctx.auth.getUserIdentity()` returns."""

    kind: Literal["anonymous", "user", "admin", "system"] = "anonymous"
    user: dict[str, Any] | None = None
    admin: AdminIdentity | None = field(default=None, compare=False)
    expires_at: float | None = None  # user tokens: seconds since the epoch
    token: str | None = field(default=None, compare=False, repr=False)  # a user's raw JWT
    # Why the request's user token was refused, for an HTTP action: Convex runs it anyway,
    # and `ctx.auth.getUserIdentity()` throws this (see `user_attributes`).
    error: BayouError | None = field(default=None, compare=False, repr=False)

    def user_attributes(self) -> dict[str, Any] | None:
        """What `ctx.auth.getUserIdentity()` returns; raises the refusal of a token an HTTP
        action was called with."""
        if self.error is not None:
            raise self.error
        return self.user

    def expired(self, now: float) -> bool:
        """Whether a user token's identity has ended (at its `exp`, as on Convex)."""
        return self.expires_at is not None and now >= self.expires_at

    @property
    def may_call_internal(self) -> bool:
        return self.kind in ("admin", "system")

    @property
    def read_only(self) -> bool:
        return self.admin is not None and self.admin.read_only

    @property
    def cache_key(self) -> str:
        """Identifies the identity for caches of identity-dependent query results: every
        claim, not just issuer and subject (two tokens of one user may differ in `name`)."""
        if self.user is not None:
            return (
                "user:" + orjson.dumps(self.user, default=str, option=orjson.OPT_SORT_KEYS).decode()
            )
        return self.kind

    @property
    def type_name(self) -> str:
        """How function logs name the caller's identity (`identityType`)."""
        return {
            "anonymous": "Unknown",
            "user": "User",
            "admin": "DeploymentAdmin",
            "system": "System",
        }[self.kind]


ANONYMOUS = Identity()
SYSTEM = Identity(kind="system")


@dataclass(frozen=True, slots=True)
class RequestOrigin:
    """Where a call came from, for `ctx.meta.getRequestMetadata()`: the client's address
    and user agent."""

    ip: str | None = None
    user_agent: str | None = None


NO_ORIGIN = RequestOrigin()
