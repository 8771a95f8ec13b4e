"""Deployment operations: what an admin identity may do (Convex's `DeploymentOp`).

The names are the strings the dashboard reads from `GET /api/check_admin_key`
(`allowedOps`). An empty list of allowed operations means all of them: that is what a
full admin key gets. A read-only admin key gets `READ_ONLY_OPERATIONS`: it may read data,
logs and settings and run queries, but not mutations or actions, and may not write.
"""

from __future__ import annotations

DEPLOYMENT_OPERATIONS: tuple[str, ...] = (
    "Deploy",
    "ViewEnvironmentVariables",
    "WriteEnvironmentVariables",
    "PauseDeployment",
    "UnpauseDeployment",
    "ViewLogs",
    "ViewMetrics",
    "ViewIntegrations",
    "WriteIntegrations",
    "ViewData",
    "WriteData",
    "ViewBackups",
    "CreateBackups",
    "DownloadBackups",
    "DeleteBackups",
    "ImportBackups",
    "ActAsUser",
    "RunInternalQueries",
    "RunInternalMutations",
    "RunInternalActions",
    "RunTestQuery",
    "ViewAuditLog",
    "ViewUsageLimits",
    "WriteUsageLimits",
    "ViewUsage",
)
"""Every operation, in Convex's order."""

READ_ONLY_OPERATIONS: tuple[str, ...] = (
    "ViewEnvironmentVariables",
    "ViewLogs",
    "ViewMetrics",
    "ViewIntegrations",
    "ViewData",
    "ViewBackups",
    "DownloadBackups",
    "RunInternalQueries",
    "RunTestQuery",
    "ViewAuditLog",
    "ViewUsageLimits",
    "ViewUsage",
)
"""What a read-only admin key allows, in the order Convex reports them."""


def operations_for_key(read_only: bool) -> tuple[str, ...]:
    """The allowed operations of an admin key; empty means all."""
    return READ_ONLY_OPERATIONS if read_only else ()


def check_operation_name(op: str) -> None:
    """Raise `ValueError` for a name that is not an operation (catches typos early)."""
    if op not in DEPLOYMENT_OPERATIONS:
        raise ValueError(
            f"unknown deployment operation {op!r}; expected one of DEPLOYMENT_OPERATIONS"
        )
