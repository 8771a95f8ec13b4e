"""Every system table the model layer declares, for `Database.open(system_tables=...)`."""

from __future__ import annotations

from bayou.model.deployment import DEPLOYMENT
from bayou.model.env_vars import ENV_VARS
from bayou.model.modules import MODULES
from bayou.model.session_requests import SESSION_REQUESTS

SYSTEM_TABLES = (ENV_VARS, MODULES, DEPLOYMENT, SESSION_REQUESTS)
