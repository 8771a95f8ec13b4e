"""Who sent a request: an admin key (`Authorization: Convex <key>` or `?adminKey=`), a user
token (`Authorization: Bearer <jwt>`), or nobody (wire-protocol.md §1.3).

Verifying a user token may fetch its issuer's keys, so it is asynchronous: the
`UserTokenMiddleware` verifies a request's bearer token before the route runs and leaves
the result in the request's scope, where `request_identity` (called synchronously by the
routes) finds it. HTTP actions call `http_action_identity`, which never refuses the
request: as on Convex, a token that does not verify makes `ctx.auth.getUserIdentity()`
throw inside the action instead.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from bayou.auth.admin_key import AdminIdentity
from bayou.backend import Backend
from bayou.errors import BadRequest, BayouError, Forbidden, InternalError
from bayou.runner.identity import ANONYMOUS, Identity

SCOPE_KEY = "bayou.user_identity"


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
    if _is_bearer(header):
        return user_identity(request.scope)
    raise BadRequest(
        "The Authorization header must be `Bearer <token>` (a user) or `Convex <admin key>`.",
        code="InvalidAdminKey",
    )


def user_identity(scope: Scope) -> Identity:
    """The identity `UserTokenMiddleware` verified for this request (or its refusal)."""
    found = scope.get(SCOPE_KEY)
    if isinstance(found, BayouError):
        raise found
    if not isinstance(found, Identity):
        raise InternalError(
            "User tokens are verified by bayou.server.auth.UserTokenMiddleware, which this "
            "server app does not run: add it to the app's middleware."
        )
    return found


async def verify_user(backend: Backend, token: str) -> Identity:
    """The user a JWT names, verified against the deployment's auth providers; raises a
    `BayouError` with Convex's code (`NoAuthProvider`, `InvalidAuthHeader`, …) if refused."""
    verified = await backend.user_tokens.verify(token)
    return Identity(
        kind="user", user=verified.attributes, expires_at=verified.expires_at, token=verified.token
    )


async def http_action_identity(backend: Backend, request: Request) -> Identity:
    """The identity an HTTP action runs with: anonymous when the request has none, and when
    its credentials do not verify, an anonymous identity carrying the refusal."""
    try:
        header = request.headers.get("authorization")
        if header is not None and _is_bearer(header):
            if SCOPE_KEY in request.scope:  # verified already (`/http/…` on the API port)
                return user_identity(request.scope)
            return await verify_user(backend, header[7:].strip())
        return request_identity(backend, request)
    except BayouError as e:
        return Identity(error=e)


class UserTokenMiddleware:
    """Verifies the bearer token of each HTTP request before its route runs (pure ASGI)."""

    def __init__(self, app: ASGIApp, backend: Backend) -> None:
        self.app = app
        self.backend = backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await verify_bearer(self.backend, scope, Headers(scope=scope).get("authorization"))
        await self.app(scope, receive, send)


async def verify_bearer(backend: Backend, scope: Scope, header: str | None) -> None:
    """Verify a request's bearer token (its `Authorization` header) and leave the identity,
    or the refusal, in its scope for `request_identity`."""
    if header is not None and _is_bearer(header):
        try:
            scope[SCOPE_KEY] = await verify_user(backend, header[7:].strip())
        except BayouError as e:
            scope[SCOPE_KEY] = e


def _is_bearer(header: str) -> bool:
    return header[:7].lower() == "bearer "


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
