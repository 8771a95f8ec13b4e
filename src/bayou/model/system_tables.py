"""Every system table the model layer declares, for `Database.open(system_tables=...)`."""

from __future__ import annotations

from bayou.model.cron_jobs import CRON_JOBS
from bayou.model.deployment import DEPLOYMENT
from bayou.model.env_vars import ENV_VARS
from bayou.model.file_storage import BLOB_GC, STORAGE
from bayou.model.modules import MODULES
from bayou.model.scheduled_functions import SCHEDULED_FUNCTIONS
from bayou.model.session_requests import SESSION_REQUESTS
from bayou.model.snapshot_exports import EXPORTS
from bayou.model.snapshot_imports import IMPORTS

SYSTEM_TABLES = (
    ENV_VARS,
    MODULES,
    DEPLOYMENT,
    SESSION_REQUESTS,
    SCHEDULED_FUNCTIONS,
    CRON_JOBS,
    STORAGE,
    BLOB_GC,
    EXPORTS,
    IMPORTS,
)

# The system tables functions may read through ctx.db.system (Convex's virtual tables).
USER_READABLE_SYSTEM_TABLES = frozenset({SCHEDULED_FUNCTIONS.name, STORAGE.name})
