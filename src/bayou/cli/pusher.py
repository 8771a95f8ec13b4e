"""The client side of the deploy2 protocol, as `npx convex deploy` drives it (js-compat.md §1).

    get_config_hashes → start_push (brotli) → wait_for_schema (until complete)
                      → finish_push (echoing start_push's answer) → report_push_completed

Modules whose hash the deployment already stores are named in `unchangedModuleHashes`
instead of being sent again. The deployment analyzes the modules (importing them), diffs
the schema, backfills indexes and validates existing documents, then swaps everything in
one commit at `finish_push`; a push that fails at any step changes nothing. `Push.run`
returns what changed, for `bayou deploy` and `bayou dev` to print.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayou import __version__
from bayou.cli.component_bundle import bundle_components
from bayou.cli.connection import CliError, Connection
from bayou.cli.functions_folder import LocalModule, check_syntax, collect

SCHEMA_POLL_MS = 10_000


@dataclass
class PushResult:
    """What a push changed (or, for a dry run, would change)."""

    functions_added: list[str] = field(default_factory=list)
    functions_removed: list[str] = field(default_factory=list)
    indexes_added: list[dict[str, Any]] = field(default_factory=list)
    indexes_removed: list[dict[str, Any]] = field(default_factory=list)
    modules_sent: int = 0
    modules_total: int = 0
    functions_total: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    def lines(self) -> list[str]:
        """The change report, one line per item (empty when nothing changed)."""
        verb = ("Would add", "Would delete") if self.dry_run else ("Added", "Deleted")
        out: list[str] = []
        if self.indexes_removed:
            out.append(f"{verb[1]} table indexes:")
            out += [f"  [-] {format_index(i)}" for i in self.indexes_removed]
        if self.indexes_added:
            out.append(f"{verb[0]} table indexes:")
            out += [f"  [+] {format_index(i)}" for i in self.indexes_added]
        if self.functions_removed:
            out.append(f"{verb[1]} functions:")
            out += [f"  [-] {name}" for name in self.functions_removed]
        if self.functions_added:
            out.append(f"{verb[0]} functions:")
            out += [f"  [+] {name}" for name in self.functions_added]
        return out


def format_index(index: dict[str, Any]) -> str:
    """`messages.by_channel  channel, _creationTime` (search and vector indexes say so)."""
    name = index.get("name", "?")
    kind = index.get("type", "database")
    if kind == "search":
        return f"{name}  (text) {index.get('searchField')}"
    if kind == "vector":
        return f"{name}  (vector) {index.get('vectorField')}"
    return f"{name}  {', '.join(index.get('fields') or [])}"


def function_name(identifier: str) -> str:
    """`messages:send` for `messages.js:send` / `messages.py:send`."""
    module, sep, name = identifier.partition(":")
    for suffix in (".js", ".py"):
        module = module.removesuffix(suffix)
    return f"{module}{sep}{name}"


Progress = Callable[[str], None]


class Push:
    """One push of a functions folder to a deployment."""

    def __init__(
        self,
        connection: Connection,
        folder: Path,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self.connection = connection
        self.folder = folder
        self.dry_run = dry_run
        self.progress = progress or (lambda message: None)

    def run(self) -> PushResult:
        """Push, or raise `CliError` with the reason (and then nothing changed)."""
        started = time.monotonic()
        modules = collect(self.folder)
        check_syntax(self.folder, modules)
        before = self._deployed_functions()
        request = self._start_request(modules)
        self.progress("Analyzing and pushing functions...")
        start = self._post("/api/deploy2/start_push", request, compress=True)
        if not isinstance(start, dict) or "schemaChange" not in start:
            raise CliError(f"Unexpected answer from start_push: {str(start)[:300]}")
        self._wait_for_schema(start)
        result = self._result(start, before, request)
        if not self.dry_run:
            self.progress("Finalizing push...")
            finish = self._post(
                "/api/deploy2/finish_push",
                {"adminKey": self.connection.admin_key, "startPush": start, "dryRun": False},
                compress=True,
            )
            diff = ((finish or {}).get("componentDiffs") or {}).get("") or {}
            self._merge_index_diff(result, diff.get("indexDiff"))
            self._report_completed()
        result.seconds = time.monotonic() - started
        return result

    # -- steps -----------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any], *, compress: bool = False) -> Any:
        try:
            return self.connection.request("POST", path, body, compress=compress, timeout=300)
        except CliError as error:
            if error.code in ("InvalidModules", "InvalidModule", "SchemaValidationFailed"):
                error.message += "\nNothing was deployed."
            raise

    def _deployed_functions(self) -> set[str] | None:
        """Public and internal functions deployed now (None if the server cannot say)."""
        try:
            spec = self.connection.system_query("_system/cli/modules:apiSpec")
        except CliError as error:
            if error.code in ("BadAdminKey", "BadDeployKey", "Forbidden", "Unauthenticated"):
                raise
            return None
        if not isinstance(spec, list):
            return None
        return {
            function_name(f["identifier"])
            for f in spec
            if isinstance(f, dict) and isinstance(f.get("identifier"), str)
        }

    def _start_request(self, modules: list[LocalModule]) -> dict[str, Any]:
        stored = self._stored_hashes()
        changed = [m for m in modules if stored.get(m.path) != m.sha256]
        unchanged = [m for m in modules if stored.get(m.path) == m.sha256]
        # npm components (convex/convex.config.ts): bundled by the official CLI.
        components = bundle_components(self.folder, self.connection)
        if components is not None:
            self.progress("Bundled the components of convex.config with the Convex CLI...")
        return {
            "adminKey": self.connection.admin_key,
            "dryRun": self.dry_run,
            "functions": self.folder.name + "/",
            "appDefinition": {
                "definition": components.definition if components else None,
                "dependencies": components.dependencies if components else [],
                "schema": None,
                "changedModules": [m.to_push() for m in changed],
                "unchangedModuleHashes": [
                    {"path": m.path, "environment": "python", "sha256": m.sha256} for m in unchanged
                ],
                "udfServerVersion": __version__,
            },
            "componentDefinitions": components.component_definitions if components else [],
            "nodeDependencies": [],
        }

    def _stored_hashes(self) -> dict[str, str]:
        answer = self._post(
            "/api/get_config_hashes",
            {"version": __version__, "adminKey": self.connection.admin_key},
        )
        hashes = (answer or {}).get("moduleHashes") or []
        return {
            h["path"]: h["hash"]
            for h in hashes
            if isinstance(h, dict) and h.get("environment") == "python"
        }

    def _wait_for_schema(self, start: dict[str, Any]) -> None:
        while True:
            status = self._post(
                "/api/deploy2/wait_for_schema",
                {
                    "adminKey": self.connection.admin_key,
                    "schemaChange": start["schemaChange"],
                    "timeoutMs": SCHEMA_POLL_MS,
                    "dryRun": self.dry_run,
                },
            )
            kind = (status or {}).get("type")
            if kind == "complete":
                return
            if kind == "failed":
                table = status.get("tableName")
                where = f" (table {table})" if table else ""
                raise CliError(
                    f"Schema validation failed{where}.\n{status.get('error')}\n"
                    "Nothing was deployed: fix the documents or the schema and push again.",
                    code="SchemaValidationFailed",
                )
            if kind == "raceDetected":
                raise CliError("Schema was overwritten by another push. Push again.")
            if kind != "inProgress":
                raise CliError(f"Unexpected answer from wait_for_schema: {status!r}")
            done = total = 0
            for component in (status.get("components") or {}).values():
                done += component.get("indexesComplete", 0)
                total += component.get("indexesTotal", 0)
            self.progress(
                f"Backfilling indexes ({done}/{total} ready) and checking that documents "
                "match your schema..."
            )

    def _result(
        self, start: dict[str, Any], before: set[str] | None, request: dict[str, Any]
    ) -> PushResult:
        app = request["appDefinition"]
        result = PushResult(
            dry_run=self.dry_run,
            modules_sent=len(app["changedModules"]),
            modules_total=len(app["changedModules"]) + len(app["unchangedModuleHashes"]),
        )
        analysis = ((start.get("analysis") or {}).get("") or {}).get("functions") or {}
        after = {
            function_name(f"{module}:{fn['name']}")
            for module, info in analysis.items()
            for fn in (info or {}).get("functions") or []
        }
        result.functions_total = len(after)
        if before is not None:
            result.functions_added = sorted(after - before)
            result.functions_removed = sorted(before - after)
        indexes = (start.get("schemaChange") or {}).get("indexDiffs") or {}
        self._merge_index_diff(result, indexes.get(""))
        return result

    @staticmethod
    def _merge_index_diff(result: PushResult, diff: dict[str, Any] | None) -> None:
        if not diff:
            return
        seen = {i.get("name") for i in result.indexes_added + result.indexes_removed}
        for key, target in (
            ("added_indexes", result.indexes_added),
            ("removed_indexes", result.indexes_removed),
        ):
            for index in diff.get(key) or []:
                if index.get("name") not in seen:
                    target.append(index)

    def _report_completed(self) -> None:
        try:
            self.connection.request(
                "POST",
                "/api/deploy2/report_push_completed",
                {"adminKey": self.connection.admin_key, "spans": []},
                timeout=10,
            )
        except CliError:
            pass  # fire-and-forget, as the official CLI does
