"""Capture the modules the official `npx convex deploy` pushes, for tests of the JS runtime.

A tiny HTTP server on 127.0.0.1 plays just enough of a self-hosted backend for the unmodified
CLI to finish a deploy: it answers `get_config_hashes`, `evaluate_schema`, `start_push`
(a minimal valid StartPushResponse), `wait_for_schema`, `finish_push` and
`report_push_completed`, and records the brotli-compressed `start_push` request, whose
`appDefinition` holds the bundles as the CLI built them.

Test-only: the real deploy endpoints live in `bayou.deploy` and `bayou.server`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import brotli

ADMIN_KEY = "bayou-capture|0123456789abcdef"


@dataclass
class CapturedPush:
    """What one `start_push` carried."""

    request: dict[str, Any]

    @property
    def modules(self) -> list[dict[str, Any]]:
        """Every module of the app: functions, `schema.js`, the definition, `_deps` chunks."""
        app = self.request["appDefinition"]
        modules = list(app["changedModules"])
        if app.get("schema"):
            modules.append(app["schema"])
        if app.get("definition"):
            modules.append(app["definition"])
        return modules


def _minimal_start_push_response(request: dict[str, Any]) -> dict[str, Any]:
    functions = {
        m["path"]: {"functions": [], "httpRoutes": None, "cronSpecs": None, "sourceMapped": None}
        for m in request["appDefinition"]["changedModules"]
        if not m["path"].startswith("_deps/")
    }
    return {
        "environmentVariables": {},
        "externalDepsId": None,
        "componentDefinitionPackages": {},
        "appAuth": [],
        "analysis": {
            "": {
                "definition": {
                    "path": "",
                    "definitionType": {"type": "app"},
                    "childComponents": [],
                    "httpMounts": {},
                    "exports": {"type": "branch", "branch": []},
                },
                "schema": None,
                "functions": functions,
                "udfConfig": {
                    "serverVersion": request["appDefinition"].get("udfServerVersion", "1.0.0"),
                    "importPhaseRngSeed": {
                        "$bytes": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
                    },
                    "importPhaseUnixTimestamp": {"$integer": "AAAAAAAAAAA="},
                },
            }
        },
        "app": {
            "definitionPath": "",
            "componentPath": "",
            "args": {},
            "childComponents": {},
            "httpRoutes": {"httpModuleRoutes": None, "mounts": []},
            "exports": {},
        },
        "schemaChange": {"allocatedComponentIds": {}, "schemaIds": {}, "indexDiffs": {}},
    }


class _Handler(BaseHTTPRequestHandler):
    server: _CaptureServer

    def log_message(self, format: str, *args: Any) -> None:  # the CLI is chatty; stay quiet
        pass

    def _body(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "br":
            raw = brotli.decompress(raw)
        return json.loads(raw) if raw else {}

    def _reply(self, payload: Any, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/api/v1/get_canonical_urls"):
            origin = f"http://127.0.0.1:{self.server.server_address[1]}"
            self._reply({"convexCloudUrl": origin, "convexSiteUrl": origin})
        else:
            self._reply({"code": "NotFound", "message": self.path}, 404)

    def do_POST(self) -> None:
        body = self._body()
        path = self.path.split("?")[0]
        self.server.calls.append(path)
        if path == "/api/get_config_hashes":
            self._reply(
                {
                    "config": {"functions": "convex/", "authInfo": []},
                    "moduleHashes": [],
                    "udfServerVersion": None,
                    "nodeVersion": None,
                }
            )
        elif path == "/api/deploy2/evaluate_schema":
            self._reply({"componentSchemaEvaluations": {}, "newComponentDefinitions": []})
        elif path == "/api/deploy2/start_push":
            self.server.pushes.append(CapturedPush(body))
            self._reply(_minimal_start_push_response(body))
        elif path == "/api/deploy2/wait_for_schema":
            self._reply({"type": "complete"})
        elif path == "/api/deploy2/finish_push":
            self._reply(
                {
                    "authDiff": {"added": [], "removed": []},
                    "definitionDiffs": {},
                    "componentDiffs": {},
                }
            )
        elif path == "/api/deploy2/report_push_completed":
            self._reply({})
        else:
            # The CLI retries 404s on POST; a 400 fails fast and names the endpoint.
            self._reply({"code": "Unimplemented", "message": f"capture server: {path}"}, 400)


class _CaptureServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pushes: list[CapturedPush] = []
        self.calls: list[str] = []


def capture_push(app_dir: Path, js_dir: Path, node: str, *, timeout: float = 180) -> CapturedPush:
    """Run the official `convex deploy` over a copy of `app_dir` and return what it pushed.

    The copy lives in a temporary directory whose `node_modules` links to `js_dir`'s, so
    esbuild resolves `convex/server` from the npm package the tests installed.
    """
    server = _CaptureServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bayou-capture-") as tmp:
            work = Path(tmp) / "app"
            shutil.copytree(app_dir, work)
            (work / "node_modules").symlink_to(js_dir / "node_modules")
            env = {
                **os.environ,
                "CONVEX_SELF_HOSTED_URL": f"http://127.0.0.1:{server.server_address[1]}",
                "CONVEX_SELF_HOSTED_ADMIN_KEY": ADMIN_KEY,
                "CONVEX_DEPLOYMENT": "",
                "CONVEX_DEPLOY_KEY": "",
                "CI": "1",
                "NO_COLOR": "1",
            }
            cli = js_dir / "node_modules" / "convex" / "bin" / "main.js"
            proc = subprocess.run(
                [node, str(cli), "deploy", "--typecheck", "disable", "-y"],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            if proc.returncode != 0 or not server.pushes:
                raise RuntimeError(
                    f"convex deploy failed ({proc.returncode}); calls {server.calls}\n"
                    f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
                )
            return server.pushes[-1]
    finally:
        server.shutdown()
        server.server_close()
