"""Admin keys: minting and checking Convex-compatible keys for one deployment.

An admin key is `<instance name>|<hex>`, the hex being an envelope (`bayou.auth.envelope`,
version 1) that seals the `AdminKey` protobuf (`bayou.auth.admin_key_message`) with
AES-128-GCM-SIV under `derive_key(secret, "admin key")`. There is no table of keys: any
key that opens under the instance secret and names this instance is valid, forever.
Keys minted here are accepted by Convex's backend and the reverse, for the same name and
secret; legacy keys (NaCl secretbox under the raw secret, minted by Convex before
mid-2025) are still accepted.

Bayou goes beyond Convex in two ways: `check_admin_key` takes several secrets, so a
deployment can accept keys of its previous secret while clients move to the new one; and
a refused key raises an error that names the likely cause and the command that fixes it.

Errors: an invalid key is `Unauthenticated` (401, `BadAdminKey`); a valid key without
admin rights (a system key, or no key) where an admin is required is `Forbidden` (403,
`BadDeployKey`); a malformed acting-as-user suffix is `BadRequest` (400,
`HeaderParseFailure`) — the codes Convex answers with.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bayou.auth import envelope
from bayou.auth.admin_key_format import AdminKeyParts, format_admin_key, split_admin_key
from bayou.auth.admin_key_message import AdminKeyMessage, MessageError
from bayou.auth.identity_attributes import decode_acting_user
from bayou.auth.keys import ADMIN_KEY, SECRET_LEN, derive_key
from bayou.auth.operations import check_operation_name, operations_for_key
from bayou.errors import BadRequest, Forbidden, Unauthenticated

ADMIN_KEY_VERSION = 1
_INVALID = "The provided admin key was invalid for this instance"


@dataclass(frozen=True)
class AdminIdentity:
    """Who a verified admin key speaks for."""

    instance_name: str
    issued_s: int
    """When the key was minted (Unix seconds). Keys do not expire."""
    member_id: int | None
    """The dashboard member the key was minted for (0: a generic key); None for system keys."""
    is_system: bool
    """A system key: an operation done by the deployment itself, not by an admin."""
    read_only: bool
    acting_as: dict[str, Any] | None = field(default=None, hash=False)
    """The user identity attributes the admin acts as (`tokenIdentifier` filled in)."""
    allowed_ops: tuple[str, ...] = ()
    """The `DeploymentOp` names this identity may perform; empty means all."""
    legacy: bool = False
    """Whether the key is in the legacy (secretbox) format."""
    secret_index: int = 0
    """Which of the secrets given to `check_admin_key` verified the key (0: the first)."""

    def can(self, op: str) -> bool:
        """Whether this identity may perform the deployment operation `op`."""
        check_operation_name(op)
        return not self.allowed_ops or op in self.allowed_ops


def mint_admin_key(
    instance_name: str,
    secret: bytes,
    *,
    read_only: bool = False,
    system: bool = False,
    member_id: int = 0,
    issued_s: int | None = None,
) -> str:
    """A new admin key for `instance_name`, sealed under `secret` (Convex's format).

    `system=True` mints a system key (no member, never read-only). Every call returns a
    different key (random nonce); all of them stay valid until the secret changes.
    """
    _check_secret(secret)
    if "|" in instance_name or ":" in instance_name or not instance_name:
        raise ValueError(f"{instance_name!r} cannot be the instance name of an admin key")
    if system and (read_only or member_id):
        raise ValueError("a system key has no member and cannot be read-only")
    issued = int(time.time()) if issued_s is None else issued_s
    if issued <= 0:
        raise ValueError("issued_s must be a positive Unix time")
    message = AdminKeyMessage(
        issued_s=issued,
        member_id=None if system else member_id,
        system=system,
        is_read_only=read_only,
    )
    sealed = envelope.seal(derive_key(secret, ADMIN_KEY), ADMIN_KEY_VERSION, message.encode())
    return format_admin_key(instance_name, sealed)


def check_admin_key(
    key: str,
    instance_name: str,
    secrets: Sequence[bytes],
    *,
    data_dir: str | os.PathLike[str] | None = None,
) -> AdminIdentity:
    """Verify `key` for the deployment `instance_name`; raise `Unauthenticated` if invalid.

    `key` is what follows `Convex ` in the `Authorization` header (or the `adminKey` query
    parameter). `secrets` are tried in order: pass `[current, previous]` while rotating.
    `data_dir`, if given, is named in the messages' `bayou admin-key` command.
    """
    if not secrets:
        raise ValueError("check_admin_key needs at least one secret")
    for secret in secrets:
        _check_secret(secret)
    hint = _mint_hint(data_dir)
    if not key.strip():
        raise _refusal(f"no admin key was given. Mint one with `{hint}`.")
    parts = split_admin_key(key)
    acting_as = _acting_as(parts)
    try:
        data = parts.encrypted_bytes()
    except ValueError as error:
        raise _unopened_refusal(parts, instance_name, hint, malformed=str(error)) from None
    opened = _open(data, secrets)
    if opened is None:
        raise _unopened_refusal(parts, instance_name, hint, malformed=_shape_problem(data))
    message, legacy, secret_index = opened
    key_name = parts.name if parts.name is not None else message.instance_name
    if key_name is None:
        raise _refusal(
            "the key does not say which instance it is for (no '<name>|' before the hex). "
            f"Use the key exactly as it was printed, or mint a new one with `{hint}`."
        )
    if key_name != instance_name:
        raise _refusal(_name_mismatch(key_name, instance_name, hint))
    if message.issued_s == 0 or (message.member_id is None and not message.system):
        raise _refusal(f"the key's contents are incomplete. Mint a new one with `{hint}`.")
    if acting_as is not None and message.system:
        raise Forbidden("A system key cannot act as a user.", code="BadDeployKey")
    return AdminIdentity(
        instance_name=instance_name,
        issued_s=message.issued_s,
        member_id=message.member_id,
        is_system=message.system,
        read_only=message.is_read_only,
        acting_as=acting_as,
        allowed_ops=operations_for_key(message.is_read_only),
        legacy=legacy,
        secret_index=secret_index,
    )


def require_admin(identity: AdminIdentity | None) -> AdminIdentity:
    """`identity` if it is an admin's; else `Forbidden` (403 `BadDeployKey`), as Convex.

    For endpoints only an admin may call: no key at all, or a system key, is refused.
    """
    if identity is None:
        reason = "no admin key was provided"
    elif identity.is_system:
        reason = "a system key is not an admin key; mint an admin key with `bayou admin-key`"
    else:
        return identity
    raise Forbidden(
        f"The provided deploy key was invalid for this deployment: {reason}.",
        code="BadDeployKey",
    )


def admin_key_check_response(identity: AdminIdentity | None) -> dict[str, Any]:
    """The body of `GET /api/check_admin_key` (dashboard login) for a verified identity."""
    admin = require_admin(identity)
    return {"success": True, "allowedOps": list(admin.allowed_ops), "isReadOnly": admin.read_only}


def _open(data: bytes, secrets: Sequence[bytes]) -> tuple[AdminKeyMessage, bool, int] | None:
    """The key's message, whether it was legacy, and which secret opened it."""
    for index, secret in enumerate(secrets):
        for legacy in (False, True):
            try:
                plaintext = (
                    envelope.open_legacy_envelope(secret, ADMIN_KEY_VERSION, data)
                    if legacy
                    else envelope.open_envelope(
                        derive_key(secret, ADMIN_KEY), ADMIN_KEY_VERSION, data
                    )
                )
                return AdminKeyMessage.decode(plaintext), legacy, index
            except (envelope.EnvelopeError, MessageError):
                continue
    return None


def _acting_as(parts: AdminKeyParts) -> dict[str, Any] | None:
    if parts.acting_as is None:
        return None
    try:
        return decode_acting_user(parts.acting_as)
    except ValueError as error:
        raise BadRequest(
            f"Malformed Authorization header: {error}.", code="HeaderParseFailure"
        ) from None


def _shape_problem(data: bytes) -> str | None:
    """What is wrong with the key's bytes regardless of the secret, if anything."""
    minimum = 1 + envelope.NONCE_LEN + envelope.TAG_LEN
    if len(data) < minimum:
        return f"it is too short ({len(data)} bytes; an admin key has at least {minimum})"
    if data[0] != ADMIN_KEY_VERSION:
        return f"its version byte is {data[0]}, not {ADMIN_KEY_VERSION}"
    return None


def _unopened_refusal(
    parts: AdminKeyParts, instance_name: str, hint: str, *, malformed: str | None
) -> Unauthenticated:
    """The most likely reason a key did not open, from what its text shows."""
    if parts.looks_like_cloud_key(instance_name):
        return _refusal(_cloud_key(parts, instance_name, hint))
    if malformed is not None:
        return _refusal(
            f"the key is malformed: {malformed}. An admin key looks like "
            f"`{instance_name}|01…` (74 hex digits after '|'); copy it whole, or mint a new "
            f"one with `{hint}`."
        )
    if parts.name is not None and parts.name != instance_name:
        return _refusal(_name_mismatch(parts.name, instance_name, hint))
    return _refusal(
        "the key was not minted with this deployment's instance secret. The secret has "
        "changed since the key was minted (a new INSTANCE_SECRET, a new data directory, or "
        "a deleted credentials/instance_secret file), or the key belongs to another "
        f"deployment. Mint a new key with `{hint}`, using the server's data directory and "
        "INSTANCE_SECRET."
    )


def _cloud_key(parts: AdminKeyParts, instance_name: str, hint: str) -> str:
    what = (
        f"a Convex cloud {parts.type_prefix} key"
        if parts.is_nameless_type
        else f"a Convex cloud deploy key for deployment '{parts.name}'"
    )
    return (
        f"this looks like {what}, which cannot work with this self-hosted deployment "
        f"'{instance_name}'. Mint an admin key for '{instance_name}' with `{hint}` and use "
        "it (e.g. as CONVEX_SELF_HOSTED_ADMIN_KEY) instead."
    )


def _name_mismatch(key_name: str, instance_name: str, hint: str) -> str:
    return (
        f"the key is for instance '{key_name}', but this deployment is '{instance_name}'. "
        "It was minted for another deployment, or this deployment's INSTANCE_NAME has "
        f"changed since. Mint a key for '{instance_name}' with `{hint}`."
    )


def _refusal(cause: str) -> Unauthenticated:
    return Unauthenticated(f"{_INVALID}: {cause}", code="BadAdminKey")


def _mint_hint(data_dir: str | os.PathLike[str] | None) -> str:
    return f"bayou admin-key --data-dir {os.fspath(data_dir) if data_dir else 'DIR'}"


def _check_secret(secret: bytes) -> None:
    if len(secret) != SECRET_LEN:
        raise ValueError(f"an instance secret is {SECRET_LEN} bytes, not {len(secret)}")
