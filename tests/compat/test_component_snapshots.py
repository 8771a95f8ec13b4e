"""Snapshots of a deployment with components, through the official CLI: examples/components-app
(five npm components, one of them with a child component, and the app's own `notes`
twice) is deployed and used, exported with `npx convex export --include-file-storage`, and
imported into a fresh deployment with `npx convex import`; every document of every
component, and every file, must come back in the right component. A ZIP written by hand in
the layout of Convex's backend (`_components/<name>/…`, nested for a child) imports too.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bayou.snapshots.parse import split_component
from bayou.values import ids
from tests.compat.conftest import BayouServer, ConvexApp, app_copy, eventually, start_server

pytestmark = pytest.mark.compat

APP = Path(__file__).parents[2] / "examples" / "components-app"


class Deployment:
    def __init__(self, server: BayouServer, app: ConvexApp) -> None:
        self.server = server
        self.app = app

    def call(self, kind: str, path: str, args: dict[str, Any] | None = None) -> Any:
        response = httpx.post(
            f"{self.server.url}/api/{kind}",
            json={"path": path, "args": args or {}, "format": "json"},
            headers={"Authorization": f"Convex {self.server.admin_key}"},
            timeout=60,
        )
        body = response.json()
        assert body.get("status") == "success", body
        return body["value"]


@pytest.fixture(scope="module")
def launch(node: str, js_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    servers: list[BayouServer] = []

    def start() -> Deployment:
        base = tmp_path_factory.mktemp("components-snap")
        server = start_server(base / "data")
        servers.append(server)
        return Deployment(server, app_copy(APP, base, server, node, js_dir).deploy())

    yield start
    for server in servers:
        server.stop()


def _export(dep: Deployment, path: Path) -> zipfile.ZipFile:
    out = dep.app.cli("export", "--path", str(path), "--include-file-storage")
    assert "Downloaded snapshot export" in out.stdout + out.stderr
    return zipfile.ZipFile(path)


def _contents(zf: zipfile.ZipFile) -> dict[str, Any]:
    """Every entry but the README: documents as sets of lines, files as bytes."""
    out: dict[str, Any] = {}
    for name in zf.namelist():
        if name == "README.md":
            continue
        data = zf.read(name)
        out[name] = sorted(data.splitlines()) if name.endswith(".jsonl") else data
    return out


def test_components_export_and_import_into_a_fresh_deployment(launch: Any, tmp_path: Path) -> None:
    source = launch()
    for _ in range(3):
        source.call("mutation", "app:increment", {"key": "clicks"})
    for i, score in enumerate([3, 9, 4]):
        source.call("mutation", "app:addScore", {"name": f"p{i}", "score": score})
    source.call("mutation", "app:send", {"user": "ada"})
    source.call("mutation", "app:addNote", {"text": "first"})
    source.call("mutation", "app:addNote", {"text": "second", "other": True})
    source.call("mutation", "app:enqueueMany", {"n": 3})
    eventually(lambda: len(source.call("query", "app:jobsDone") or []) >= 3)
    stored = source.call("action", "app:storeNoteFile", {"text": "a component's file"})

    with _export(source, tmp_path / "a.zip") as exported:
        names = exported.namelist()
        contents = _contents(exported)
    # Convex's layout: every component's `_tables` before any table, `_storage` last.
    assert names[0] == "README.md" and names[1] == "_tables/documents.jsonl"
    assert "_components/notes/items/documents.jsonl" in names
    assert "_components/otherNotes/items/documents.jsonl" in names
    child = "_components/workpool/_components/batchWorker/_tables/documents.jsonl"
    assert child in names  # a child component nests under its parent
    tables_at = [
        i for i, n in enumerate(names) if split_component(n)[1] == "_tables/documents.jsonl"
    ]
    documents_at = [
        i for i, n in enumerate(names) if n.endswith("/documents.jsonl") and "/_" not in "/" + n
    ]
    assert max(tables_at) < min(documents_at)
    note_file = stored["id"]
    storage_entries = [n for n in names if n.startswith("_components/notes/_storage/")]
    assert any(note_file in n for n in storage_entries)
    notes = [json.loads(line) for line in contents["_components/notes/items/documents.jsonl"]]
    assert [n["text"] for n in notes] == ["first"]

    target = launch()
    out = target.app.cli("import", "-y", str(tmp_path / "a.zip"))
    assert "Added" in out.stdout + out.stderr, out
    with _export(target, tmp_path / "b.zip") as again:
        assert _contents(again) == contents  # every document of every component, every file

    assert target.call("query", "app:count", {"key": "clicks"}) == 3
    assert target.call("query", "app:listNotes") == ["first"]
    assert target.call("query", "app:listNotes", {"other": True}) == ["second"]
    assert target.call("query", "app:scoreStats") == source.call("query", "app:scoreStats")
    url = target.call("query", "app:noteFileUrl", {"id": note_file})
    assert httpx.get(url).content == b"a component's file"
    listed = target.app.cli("data", "--component", "notes", "items")
    assert "first" in listed.stdout
    # The imported components keep working.
    target.call("mutation", "app:addNote", {"text": "third"})
    assert target.call("query", "app:listNotes") == ["first", "third"]


def test_a_zip_in_convex_layout_imports_into_components(launch: Any, tmp_path: Path) -> None:
    target = launch()
    note = ids.encode_id(10001, bytes([5] * 16))
    other = ids.encode_id(10001, bytes([6] * 16))
    path = tmp_path / "convex.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.md", "exported\n")
        zf.writestr("_tables/documents.jsonl", "")
        zf.writestr("_components/notes/_tables/documents.jsonl", '{"name":"items","id":10001}\n')
        zf.writestr(
            "_components/otherNotes/_tables/documents.jsonl", '{"name":"items","id":10001}\n'
        )
        zf.writestr("_components/workpool/_tables/documents.jsonl", "")
        zf.writestr("_components/workpool/_components/batchWorker/_tables/documents.jsonl", "")
        zf.writestr(
            "_components/notes/items/documents.jsonl",
            json.dumps({"_id": note, "_creationTime": 1700000000000.5, "text": "from convex"})
            + "\n",
        )
        zf.writestr("_components/notes/items/generated_schema.jsonl", '"uniform"\n')
        zf.writestr(
            "_components/otherNotes/items/documents.jsonl",
            json.dumps({"_id": other, "_creationTime": 1700000000001.5, "text": "other one"})
            + "\n",
        )
        zf.writestr("_components/otherNotes/items/generated_schema.jsonl", '"uniform"\n')
        zf.writestr("_storage/documents.jsonl", "")
        zf.writestr("_components/notes/_storage/documents.jsonl", "")
    out = target.app.cli("import", "-y", str(path))
    assert "Added" in out.stdout + out.stderr, out
    assert target.call("query", "app:listNotes") == ["from convex"]
    assert target.call("query", "app:listNotes", {"other": True}) == ["other one"]
    listed = target.app.cli("data", "--component", "notes", "items", "--format", "jsonl")
    [doc] = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
    assert doc["_id"] == note and doc["_creationTime"] == 1700000000000.5
    # A row the component's schema refuses fails the whole import, naming it.
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("_components/notes/items/documents.jsonl", '{"text": 5}\n')
    failed = target.app.cli("import", "-y", "--replace", str(bad), check=False)
    assert failed.returncode != 0
    assert "notes:items" in failed.stdout + failed.stderr
    assert target.call("query", "app:listNotes") == ["from convex"]
