"""A push that never finishes leaves nothing a later push trusts: `npx convex codegen`
(start_push only) then `npx convex deploy` on a fresh deployment serves the new index, also
after a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.compat.conftest import app_copy, start_server

pytestmark = pytest.mark.compat

APP = Path(__file__).parent / "unfinished_push"


def test_codegen_then_deploy_serves_the_new_index(tmp_path: Path, node: str, js_dir: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        app = app_copy(APP, tmp_path, server, node, js_dir)
        work = app.dir
        schema = work / "convex" / "schema.ts"
        with_index = schema.read_text()
        # First the table without the index, with a document in it.
        schema.write_text(with_index.replace('.index("by_a", ["a"])', ""))
        byA = work / "convex" / "things.ts"
        query = byA.read_text()
        byA.write_text(query.replace('.withIndex("by_a", (q) => q.eq("a", a))', ""))
        app.cli("deploy", "--typecheck", "disable", "-y")
        app.cli("run", "things:add", '{"a": 1}')
        # Then the index: codegen (start_push only), and the deploy.
        schema.write_text(with_index)
        byA.write_text(query)
        app.cli("codegen", "--typecheck", "disable")
        app.cli("deploy", "--typecheck", "disable", "-y")
        assert json.loads(app.cli("run", "things:byA", '{"a": 1}').stdout) == 1
        server.restart()
        app.cli("run", "things:add", '{"a": 1}')
        assert json.loads(app.cli("run", "things:byA", '{"a": 1}').stdout) == 2
    finally:
        server.stop()
