"""The official npm `convex` client's admin headers are understood by check_admin_key."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bayou.auth.admin_key import check_admin_key, mint_admin_key

NAME = "convex-self-hosted"
SECRET = bytes(range(32))

# ConvexHttpClient with a fetch that records the Authorization header instead of sending.
_CAPTURE = """
const { ConvexHttpClient } = require("convex/browser");
const [key, identity] = JSON.parse(process.argv[1]);
let header = null;
const fetch = async (url, init) => {
  header = new Headers(init.headers).get("Authorization");
  return new Response(JSON.stringify({ status: "success", value: null, logLines: [] }), {
    status: 200,
    headers: { "Content-Type": "application/json" },
  });
};
const client = new ConvexHttpClient("http://127.0.0.1:9", { fetch });
client.setAdminAuth(key, identity ?? undefined);
client.query("anything:here", {}).then(() => console.log(JSON.stringify(header)));
"""


def _header_sent_by_official_client(
    node: str, js_dir: Path, key: str, identity: dict[str, object] | None
) -> str:
    result = subprocess.run(
        [node, "-e", _CAPTURE, json.dumps([key, identity])],
        cwd=js_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    header: str = json.loads(result.stdout)
    assert header.startswith("Convex ")
    return header.removeprefix("Convex ")


@pytest.mark.compat
def test_the_official_client_admin_header_checks(node: str, js_dir: Path) -> None:
    key = mint_admin_key(NAME, SECRET, read_only=True)
    sent = _header_sent_by_official_client(node, js_dir, key, None)
    assert check_admin_key(sent, NAME, [SECRET]).read_only


@pytest.mark.compat
def test_the_official_client_acting_as_header_yields_the_identity(node: str, js_dir: Path) -> None:
    identity = {"subject": "user-1", "issuer": "https://convex.test", "name": "Zoë 🚀"}
    sent = _header_sent_by_official_client(
        node, js_dir, f"prod:{mint_admin_key(NAME, SECRET)}", identity
    )
    checked = check_admin_key(sent, NAME, [SECRET])
    assert checked.acting_as == {**identity, "tokenIdentifier": "https://convex.test|user-1"}
