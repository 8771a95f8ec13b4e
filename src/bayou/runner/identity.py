"""Who is calling a function: nobody, a user (JWT), an admin (key), or the system."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bayou.auth.admin_key import AdminIdentity


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller of a function; `user` is what `ctx.auth.getUserIdentity()` returns."""

    kind: Literal["anonymous", "user", "admin", "system"] = "anonymous"
    user: dict[str, Any] | None = None
    admin: AdminIdentity | None = field(default=None, compare=False)
    expires_at: float | None = None  # user tokens: seconds since the epoch

    @property
    def may_call_internal(self) -> bool:
        return self.kind in ("admin", "system")

    @property
    def read_only(self) -> bool:
        return self.admin is not None and self.admin.read_only

    @property
    def cache_key(self) -> str:
        """Identifies the user for caches of identity-dependent query results."""
        if self.user is not None:
            return "user:" + str(self.user.get("tokenIdentifier"))
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
