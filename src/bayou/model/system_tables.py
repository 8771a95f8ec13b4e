"""Every system table the model layer declares, for `Database.open(system_tables=...)`."""

from __future__ import annotations

from bayou.model.deployment import DEPLOYMENT
from bayou.model.env_vars import ENV_VARS
from bayou.model.modules import MODULES

SYSTEM_TABLES = (ENV_VARS, MODULES, DEPLOYMENT)
