"""Components for a Python app: the JavaScript half of its push, bundled by the official CLI.

A Python app installs npm components the way a TypeScript app does: `package.json` with
`convex` and the components, `npm install`, and a `convex/convex.config.ts`. `bayou
deploy` then asks the official CLI (in the app's `node_modules`) to bundle that config and
every component definition it uses — `npx convex deploy --write-push-request` writes the
push request it would send instead of sending it — and sends those definitions with the
app's Python modules in one push. Bundling npm packages is the CLI's job (esbuild, package
exports, `convex.config` discovery); Bayou does not re-implement it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bayou.cli.connection import CliError, Connection

CONFIG_FILES = ("convex.config.ts", "convex.config.js")
BUNDLE_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class ComponentBundle:
    """What the push request needs: the app's bundled `convex.config.js`, the definitions
    it depends on, and every component definition (its modules bundled)."""

    definition: dict[str, Any]
    dependencies: list[str]
    component_definitions: list[dict[str, Any]]


def config_file(folder: Path) -> Path | None:
    """The functions folder's `convex.config.ts` (or `.js`), if the app installs components."""
    return next((folder / name for name in CONFIG_FILES if (folder / name).is_file()), None)


def bundle_components(folder: Path, connection: Connection) -> ComponentBundle | None:
    """The components half of the push of `folder`, or None when it has no convex.config."""
    config = config_file(folder)
    if config is None:
        return None
    app_dir = folder.resolve().parent
    cli = app_dir / "node_modules" / "convex" / "bin" / "main.js"
    if not cli.is_file():
        raise CliError(
            f"{config} installs components, which the official Convex CLI bundles: run "
            f"`npm install convex <the components>` in {app_dir} first (it looked for "
            f"{cli})."
        )
    from bayou.runtimes.js.node import find_node

    try:
        node = find_node()
    except Exception as e:  # no Node ≥ 22: say what to install
        raise CliError(f"Bundling the components of {config} needs Node.js ≥ 22: {e}") from None
    with tempfile.TemporaryDirectory(prefix="bayou-components-") as tmp:
        out = Path(tmp) / "push"
        env = {
            **os.environ,
            "CONVEX_SELF_HOSTED_URL": connection.url,
            "CONVEX_SELF_HOSTED_ADMIN_KEY": connection.admin_key,
            "CONVEX_DEPLOYMENT": "",
            "CI": "1",
        }
        # The CLI writes `_generated/` for the app's own JS components (their modules
        # import it); `bayou deploy` pushes `.py` files only, so that costs nothing.
        argv = [node, str(cli), "deploy", "--write-push-request", str(out)]
        argv += ["--typecheck", "disable", "-y"]
        try:
            done = subprocess.run(
                argv,
                cwd=app_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=BUNDLE_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            raise CliError(f"Bundling the components of {config} took over 5 minutes") from None
        written = out.with_suffix(".json")
        if done.returncode != 0 or not written.is_file():
            output = (done.stdout + done.stderr).strip()[-3000:]
            raise CliError(f"The Convex CLI could not bundle the components of {config}:\n{output}")
        request = orjson.loads(written.read_bytes())
    app = request.get("appDefinition") or {}
    if not isinstance(app.get("definition"), dict):
        raise CliError(f"The Convex CLI bundled no app definition from {config}")
    return ComponentBundle(
        app["definition"],
        list(app.get("dependencies") or []),
        list(request.get("componentDefinitions") or []),
    )
