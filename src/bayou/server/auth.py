"""Who sent a request: an admin key (`Authorization: Convex <key>` or `?adminKey=`), a user
token (`Authorization: Bearer <jwt>`), or nobody (wire-protocol.md §1.3)."""

from __future__ import annotations

from starlette.requests import Request

from bayou.auth.admin_key import AdminIdentity
from bayou.backend import Backend
from bayou.errors import BadRequest, Forbidden, Unauthenticated
from bayou.runner.identity import ANONYMOUS, Identity


def admin_identity(backend: Backend, key: str) -> Identity:
    admin: AdminIdentity = backend.check_admin_key(key)
    return Identity(
        kind="system" if admin.is_system else "admin", user=admin.acting_as, admin=admin
    )


def request_identity(backend: Backend, request: Request) -> Identity:
    header = request.headers.get("authorization")
    if header is None:
        key = request.query_params.get("adminKey")
        return admin_identity(backend, key) if key else ANONYMOUS
    if header[:7].lower() == "convex ":
        return admin_identity(backend, header[7:].strip())
    if header[:7].lower() == "bearer ":
        return user_identity(backend, header[7:].strip())
    raise BadRequest(
        "The Authorization header must be `Bearer <token>` (a user) or `Convex <admin key>`.",
        code="InvalidAdminKey",
    )


def user_identity(backend: Backend, token: str) -> Identity:
    """A user JWT, verified against the deployment's auth providers."""
    providers = backend.deployment.auth_providers
    if not providers:
        raise Unauthenticated(
            "This deployment has no auth providers, so user tokens cannot be verified. Add "
            "providers in convex/auth.config and deploy, or send no Authorization header.",
            code="NoAuthProvider",
        )
    raise Unauthenticated(
        "User token verification is not available in this version of Bayou yet.",
        code="InvalidAuthHeader",
    )


def require_admin(identity: Identity) -> Identity:
    if identity.kind != "admin":
        raise Forbidden(
            "This endpoint needs an admin key: send `Authorization: Convex <admin key>` "
            "(mint one with `bayou admin-key`).",
            code="BadDeployKey",
        )
    return identity


def require_write(identity: Identity) -> Identity:
    require_admin(identity)
    if identity.read_only:
        raise Forbidden("A read-only admin key cannot change the deployment.", code="Forbidden")
    return identity
