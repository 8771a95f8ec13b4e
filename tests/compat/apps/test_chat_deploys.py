"""Redeploying the chat app in both languages (TypeScript with `npx convex deploy`, Python
with `bayou deploy`): a module that raises at import, a schema the data violates, a schema
change that adds an index, a push while a call is in flight, `npx convex codegen` (a push
started, never finished), and a server restart — each leaves the deployment consistent.

The tests edit the module's working copy and put it back; they run in file order.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.compat.apps.conftest import ChatDeployment

pytestmark = pytest.mark.compat

ROLES = {
    "ts": (
        "roles.ts",
        """import { v } from "convex/values";
import { internalMutation, query } from "./_generated/server";

export const byRole = query({
  args: { role: v.string() },
  handler: async (ctx, { role }) => {
    const users = await ctx.db
      .query("users")
      .withIndex("by_role", (q) => q.eq("role", role))
      .collect();
    return users.map((u) => u.name);
  },
});

export const setRole = internalMutation({
  args: { id: v.id("users"), role: v.string() },
  handler: async (ctx, { id, role }) => {
    await ctx.db.patch(id, { role });
    return null;
  },
});
""",
    ),
    "py": (
        "roles.py",
        """from typing import Any

from bayou import MutationCtx, QueryCtx, internal_mutation, query, v


@query(args={"role": v.string()}, name="byRole")
def by_role(ctx: QueryCtx, role: str) -> Any:
    users = ctx.db.query("users").with_index("by_role", lambda q: q.eq("role", role)).collect()
    return [u["name"] for u in users]


@internal_mutation(args={"id": v.id("users"), "role": v.string()}, name="setRole")
def set_role(ctx: MutationCtx, id: str, role: str) -> None:
    ctx.db.patch(id, {"role": role})
""",
    ),
}

IMPORT_ERROR = {
    "ts": {
        "settings.ts": 'export const region = process.env.CHAT_REGION ?? "";\n'
        'if (region === "") {\n'
        '  throw new Error("CHAT_REGION is not configured");\n'
        "}\n",
        "reports.ts": 'import { query } from "./_generated/server";\n'
        'import { region } from "./settings";\n\n'
        "export const where = query({ args: {}, handler: async () => region });\n",
    },
    "py": {
        "settings.py": "import os\n\n"
        'REGION = os.environ.get("CHAT_REGION", "")\n'
        'if REGION == "":\n'
        '    raise RuntimeError("CHAT_REGION is not configured")\n',
        "reports.py": "from bayou import query\n\n"
        "from .settings import REGION\n\n\n"
        "@query(args={})\n"
        "def where(ctx):\n"
        "    return REGION\n",
    },
}


def schema_with_role(chat: ChatDeployment, validator: str, *, index: bool = True) -> str:
    """The app's schema with a `role` field (given validator) and an index on it."""
    if chat.language == "ts":
        original = (chat.dir / "convex" / "schema.ts").read_text()
        anchor = '    email: v.string(),\n  })\n    .index("by_email", ["email"])'
        changed = (
            f"    email: v.string(),\n    role: {validator},\n  }})\n"
            '    .index("by_email", ["email"])'
            + ('\n    .index("by_role", ["role"])' if index else "")
        )
    else:
        original = (chat.dir / "convex" / "schema.py").read_text()
        anchor = '"users": define_table({"name": v.string(), "email": v.string()})'
        changed = (
            f'"users": define_table({{"name": v.string(), "email": v.string(), "role": {validator}}})'
            + ('\n        .index("by_role", ["role"])' if index else "")
        )
    assert anchor in original
    return original.replace(anchor, changed)


class WorkingCopy:
    """Edits of the app's functions folder, undone by `restore()`."""

    def __init__(self, chat: ChatDeployment) -> None:
        self.folder = chat.dir / "convex"
        self.saved: dict[Path, str | None] = {}

    def write(self, name: str, text: str) -> None:
        path = self.folder / name
        if path not in self.saved:
            self.saved[path] = path.read_text() if path.exists() else None
        path.write_text(text)

    def restore(self) -> None:
        for path, text in self.saved.items():
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(text)
        self.saved.clear()


@pytest.fixture
def copy(chat: ChatDeployment) -> Iterator[WorkingCopy]:
    working = WorkingCopy(chat)
    try:
        yield working
    finally:
        working.restore()


def deploy(chat: ChatDeployment) -> subprocess.CompletedProcess[str]:
    """Push the working copy with the language's deploy command (not raising on failure)."""
    if chat.language == "ts":
        return chat.npx("deploy", "--typecheck", "disable", "-y", check=False)
    return chat.bayou("deploy", check=False)


def function_spec(chat: ChatDeployment) -> dict:
    spec: dict = json.loads(chat.bayou("function-spec").stdout)
    return spec


def not_found(chat: ChatDeployment, path: str) -> bool:
    failed = chat.bayou("run", path, check=False)
    return failed.returncode == 1 and "Could not find function" in failed.stderr


def test_module_raising_at_import_is_rejected_with_its_file_and_line(
    chat: ChatDeployment, copy: WorkingCopy
) -> None:
    before = function_spec(chat)
    for name, text in IMPORT_ERROR[chat.language].items():
        copy.write(name, text)
    failed = deploy(chat)
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1, output
    assert "CHAT_REGION is not configured" in output
    if chat.language == "py":
        # the traceback's innermost frame: the file and line that raised
        assert re.search(r"settings\.py:5\b", output), output
        assert "Nothing was deployed" in output
    else:
        assert "settings" in output or "reports" in output
    assert function_spec(chat) == before
    assert not_found(chat, "reports:where")
    assert chat.run("users:byEmail", {"email": "nobody@deploys.test"}) is None


def test_schema_that_existing_data_violates_is_rejected_naming_the_document(
    chat: ChatDeployment, copy: WorkingCopy
) -> None:
    user = chat.run("users:create", {"name": "Grace", "email": "grace@deploys.test"})
    before = function_spec(chat)
    schema_file = "schema.ts" if chat.language == "ts" else "schema.py"
    copy.write(schema_file, schema_with_role(chat, "v.string()"))
    copy.write(*ROLES[chat.language])
    failed = deploy(chat)
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1, output
    assert user in output and "users" in output and "role" in output
    # nothing changed: the old functions answer, the new ones do not exist
    assert function_spec(chat) == before
    assert not_found(chat, "roles:byRole")
    assert chat.run("users:get", {"id": user})["name"] == "Grace"


def test_second_deploy_changes_the_schema_and_adds_an_index(
    chat: ChatDeployment, copy: WorkingCopy
) -> None:
    user = chat.run("users:create", {"name": "Hopper", "email": "hopper@deploys.test"})
    schema_file = "schema.ts" if chat.language == "ts" else "schema.py"
    copy.write(schema_file, schema_with_role(chat, "v.optional(v.string())"))
    copy.write(*ROLES[chat.language])
    done = deploy(chat)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # the index did not exist before this push (so the rejected push left none behind)
    assert re.search(r"\[\+\] users\.by_role\s+role", output), output
    if chat.language == "py":
        assert "[+] roles:byRole" in output and "[+] roles:setRole" in output
    chat.run("roles:setRole", {"id": user, "role": "admiral"})
    assert chat.run("roles:byRole", {"role": "admiral"}) == ["Hopper"]
    assert chat.run("roles:byRole", {"role": "captain"}) == []
    assert chat.run("users:get", {"id": user})["role"] == "admiral"
    # and back (keeping the field the data now has): the index and the functions go away
    copy.restore()
    copy.write(schema_file, schema_with_role(chat, "v.optional(v.string())", index=False))
    back = deploy(chat)
    output = back.stdout + back.stderr
    assert back.returncode == 0, output
    assert re.search(r"\[-\] users\.by_role", output), output
    assert not_found(chat, "roles:byRole")


IN_FLIGHT = {
    "ts": (
        "inflight.ts",
        """import { v } from "convex/values";
import { action, query } from "./_generated/server";

const MARK = "MARK_VALUE";

export const mark = query({ args: {}, handler: async () => MARK });

export const markAfter = action({
  args: { url: v.string() },
  handler: async (_ctx, { url }) => {
    const response = await fetch(url);
    return `${MARK}:${await response.text()}`;
  },
});
""",
    ),
    "py": (
        "inflight.py",
        """import urllib.request

from bayou import action, query, v

MARK = "MARK_VALUE"


@query(args={})
def mark(ctx):
    return MARK


@action(args={"url": v.string()}, name="markAfter")
def mark_after(ctx, url):
    with urllib.request.urlopen(url) as response:
        return MARK + ":" + response.read().decode()
""",
    ),
}


class HeldResponse:
    """A loopback URL whose response waits until `release()`: an action fetching it stays
    in flight as long as the test wants."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.released = threading.Event()
        held = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                held.arrived.set()
                held.released.wait(60)
                body = b"released"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def test_calls_in_flight_during_a_push_finish_on_the_old_code(
    chat: ChatDeployment, copy: WorkingCopy
) -> None:
    name, template = IN_FLIGHT[chat.language]
    # the schema as the previous test left the deployment (users may have a role)
    schema_file = "schema.ts" if chat.language == "ts" else "schema.py"
    copy.write(schema_file, schema_with_role(chat, "v.optional(v.string())", index=False))
    copy.write(name, template.replace("MARK_VALUE", "first"))
    assert deploy(chat).returncode == 0
    assert chat.run("inflight:mark") == "first"
    held = HeldResponse()
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(
                httpx.post,
                f"{chat.url}/api/action",
                json={"path": "inflight:markAfter", "args": {"url": held.url}, "format": "json"},
                timeout=120,
            )
            assert held.arrived.wait(60), "the action never fetched"
            copy.write(name, template.replace("MARK_VALUE", "second"))
            pushed = deploy(chat)
            assert pushed.returncode == 0, pushed.stdout + pushed.stderr
            assert chat.run("inflight:mark") == "second"  # new calls: the new code
            held.release()
            response = in_flight.result(timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["value"] == "first:released"  # the call in flight: the old
    finally:
        held.close()


def test_codegen_start_push_alone_changes_nothing(ts_chat: ChatDeployment) -> None:
    # `npx convex codegen` sends evaluate_schema and start_push (it generates types from
    # the analysis) and never finishes the push: the deployment must not change.
    chat = ts_chat
    copy = WorkingCopy(chat)
    generated = chat.dir / "convex" / "_generated"
    saved = {path: path.read_bytes() for path in generated.iterdir()}
    try:
        user = chat.run("users:create", {"name": "Codd", "email": "codd@codegen.test"})
        before = function_spec(chat)
        copy.write("schema.ts", schema_with_role(chat, "v.string()"))
        copy.write(*ROLES["ts"])
        done = chat.npx("codegen", "--typecheck", "disable")
        assert "roles" in (generated / "api.d.ts").read_text(), done.stdout + done.stderr
        assert function_spec(chat) == before
        assert not_found(chat, "roles:byRole")
        # the stricter schema was not applied: a user without a role can still be created
        assert chat.run("users:get", {"id": user})["name"] == "Codd"
        chat.run("users:create", {"name": "Date", "email": "date@codegen.test"})
    finally:
        copy.restore()
        for path, data in saved.items():
            path.write_bytes(data)


def test_restart_keeps_data_deployment_and_admin_keys(chat: ChatDeployment) -> None:
    user = chat.run("users:create", {"name": "Ida", "email": "ida@restart.test"})
    channel = chat.run("channels:create", {"name": "restart"})
    chat.run("messages:send", {"channel": channel, "author": user, "body": "before restart"})
    chat.bayou("env", "set", "CHAT_MOTTO", "persist")
    key = chat.admin_key
    chat.server.restart()
    assert chat.server.admin_key == key  # the key minted before the restart, unchanged
    # the official CLI with the old key
    got = json.loads(chat.npx("run", "users:get", json.dumps({"id": user})).stdout)
    assert got["name"] == "Ida"
    assert chat.run("messages:list", {"channel": channel}) == [
        {"seq": 1.0, "body": "before restart", "likes": 0.0}
    ]
    assert chat.run("diagnostics:setting", {"name": "CHAT_MOTTO"}) == "persist"
    sent = chat.run("messages:send", {"channel": channel, "author": user, "body": "after"})
    assert sent["seq"] == 2
