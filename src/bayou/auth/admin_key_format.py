"""The text around an admin key's ciphertext: name, cosmetic prefixes, acting-as suffix.

    [<type>:]<instance name>|<hex>[:<base64 JSON identity>]       current keys
    <hex>[:<base64 JSON identity>]                                 legacy keys, name inside
    preview:<team>:<project>|<hex>, project:<…>|<hex>              whole prefix dropped

The dashboard and CLI add a cosmetic `prod:` / `dev:` type; Convex strips whatever stands
before the first `:` of the name. For `preview:` and `project:` (any case) the whole
prefix is dropped and only the hex is checked. Splitting happens in Convex's order: type
prefix first, then the first `:` left separates an acting-as-user identity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAMELESS_TYPES = ("preview", "project")
_CLOUD_DEPLOYMENT_NAME = re.compile(r"[a-z]+-[a-z]+-[0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]*")


@dataclass(frozen=True)
class AdminKeyParts:
    """An admin key taken apart; nothing here is verified yet."""

    type_prefix: str | None
    """`prod`, `dev`, `preview`, `project` … as written, or None."""
    name: str | None
    """The instance name in clear, or None (legacy key, or a dropped whole prefix)."""
    encrypted: str
    """The hex part that holds the sealed protobuf."""
    acting_as: str | None
    """The base64 JSON identity of an admin acting as a user, or None."""

    @property
    def is_nameless_type(self) -> bool:
        """Whether the prefix was a `preview:`/`project:` one (Convex cloud keys)."""
        return self.type_prefix is not None and self.type_prefix.lower() in _NAMELESS_TYPES

    def looks_like_cloud_key(self, instance_name: str) -> bool:
        """Whether this is likely a Convex cloud deploy key for some other deployment.

        Cloud keys are `project:…`/`preview:…` keys, or `prod:`/`dev:` keys whose name is
        a cloud deployment name (`happy-otter-123`) and not this deployment's.
        """
        if self.is_nameless_type:
            return True
        return (
            self.type_prefix in ("prod", "dev")
            and self.name is not None
            and self.name != instance_name
            and _CLOUD_DEPLOYMENT_NAME.fullmatch(self.name) is not None
        )

    def encrypted_bytes(self) -> bytes:
        """The hex part decoded; `ValueError` naming what is wrong with it."""
        if not self.encrypted:
            raise ValueError("there is nothing after the instance name")
        if not _HEX.fullmatch(self.encrypted):
            if self.name is None and self.type_prefix is None:
                raise ValueError("it is not of the form `<instance name>|<hex>`")
            raise ValueError("the part after '|' is not hexadecimal")
        if len(self.encrypted) % 2:
            raise ValueError("the hex part has an odd number of digits (is it cut short?)")
        return bytes.fromhex(self.encrypted)


def split_admin_key(key: str) -> AdminKeyParts:
    """Take an admin key apart as Convex does (surrounding whitespace is ignored)."""
    key = key.strip()
    type_prefix = name = None
    body = key
    if "|" in key:
        prefix, body = key.split("|", 1)
        name = prefix
        if ":" in prefix:
            type_prefix, name = prefix.split(":", 1)
            if type_prefix.lower() in _NAMELESS_TYPES:
                name = None
    encrypted, _, acting_as = body.partition(":")
    return AdminKeyParts(
        type_prefix=type_prefix,
        name=name,
        encrypted=encrypted,
        acting_as=acting_as if ":" in body else None,
    )


def format_admin_key(instance_name: str, encrypted: bytes) -> str:
    """`<instance name>|<lowercase hex>`, the form Convex's generator prints."""
    return f"{instance_name}|{encrypted.hex()}"
