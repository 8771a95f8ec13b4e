"""The system queries the CLI polls during `npx convex export` and `import`:

    _system/cli/exports:getLatest   {}           the newest CLI export's `_exports` row | null
    _system/cli/queryImport         {importId}   the `_snapshot_imports` row | null
    _system/cli/queryImport:list    {}           the 20 newest imports, newest first

Reactive like every system query: the CLI's subscription sees each state change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bayou.database.transaction import Transaction
from bayou.model import snapshot_exports, snapshot_imports

if TYPE_CHECKING:
    from bayou.runner.system_functions import SystemCall


async def _latest_export(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    return await snapshot_exports.latest(tx)


async def _query_import(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    return await snapshot_imports.get(tx, args.get("importId"))


async def _list_imports(tx: Transaction, args: dict[str, Any], call: SystemCall) -> Any:
    return await snapshot_imports.recent(tx, 20)


SNAPSHOT_FUNCTIONS = {
    "_system/cli/exports.js:getLatest": _latest_export,
    "_system/cli/queryImport.js:default": _query_import,
    "_system/cli/queryImport.js:list": _list_imports,
}
