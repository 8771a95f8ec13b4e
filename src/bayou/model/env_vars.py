"""Deployment environment variables (`_environment_variables`): `npx convex env …`.

Limits and name rules follow Convex (ops-surface.md §2.3): a name matches
`[A-Za-z_][A-Za-z0-9_]*`, at most 256 characters; a value is at most 8 KiB; at most 512
variables and 512 KiB in total; names Convex reserves for itself are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bayou.database.catalog import SystemTable
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest

ENV_VARS = SystemTable("_environment_variables", 20, {"by_name": ("name",)})

MAX_NAME = 256
MAX_VALUE = 8 * 1024
MAX_COUNT = 512
MAX_TOTAL = 512 * 1024
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = frozenset({"CONVEX_CLOUD_URL", "CONVEX_SITE_URL"})


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_NAME:
        raise BadRequest(
            f"Invalid environment variable name {name!r}: use letters, digits and '_', not "
            f"starting with a digit, at most {MAX_NAME} characters.",
            code="InvalidEnvironmentVariableName",
        )
    if name in RESERVED:
        raise BadRequest(
            f"{name} is set by the deployment itself and cannot be changed.",
            code="InvalidEnvironmentVariableName",
        )
    return name


def check_value(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise BadRequest(
            f"The value of {name} must be a string", code="InvalidEnvironmentVariableValue"
        )
    if len(value.encode()) > MAX_VALUE:
        raise BadRequest(
            f"The value of {name} is longer than {MAX_VALUE} bytes: store large values in file "
            "storage or the database instead.",
            code="InvalidEnvironmentVariableValue",
        )
    return value


async def load(tx: Transaction) -> dict[str, str]:
    """All variables, by name."""
    docs = await tx.query(
        {
            "source": {"type": "FullTableScan", "tableName": ENV_VARS.name, "order": "asc"},
            "operators": [],
        },
        system=True,
    ).collect()
    return {d["name"]: d["value"] for d in docs}


async def apply_changes(
    tx: Transaction, changes: Iterable[tuple[str, str | None]]
) -> dict[str, str]:
    """Set (or, with value None, remove) variables in one transaction; returns the result."""
    current_docs = await tx.query(
        {
            "source": {"type": "FullTableScan", "tableName": ENV_VARS.name, "order": "asc"},
            "operators": [],
        },
        system=True,
    ).collect()
    by_name = {d["name"]: d for d in current_docs}
    seen: set[str] = set()
    for name, value in changes:
        check_name(name)
        if name in seen:
            raise BadRequest(
                f"{name} is changed twice in one request", code="InvalidEnvironmentVariableName"
            )
        seen.add(name)
        existing = by_name.get(name)
        if value is None:
            if existing is not None:
                await tx.delete(existing["_id"], system=True)
                del by_name[name]
            continue
        check_value(name, value)
        if existing is None:
            id = await tx.insert(ENV_VARS.name, {"name": name, "value": value}, system=True)
            by_name[name] = {"_id": id, "name": name, "value": value}
        elif existing["value"] != value:
            await tx.patch(existing["_id"], {"value": value}, system=True)
            by_name[name] = {**existing, "value": value}
    result = {n: d["value"] for n, d in by_name.items()}
    if len(result) > MAX_COUNT:
        raise BadRequest(
            f"A deployment may have at most {MAX_COUNT} environment variables",
            code="TooManyEnvironmentVariables",
        )
    if sum(len(k) + len(v.encode()) for k, v in result.items()) > MAX_TOTAL:
        raise BadRequest(
            "Environment variables may take at most 512 KiB in total",
            code="TooManyEnvironmentVariables",
        )
    return result
