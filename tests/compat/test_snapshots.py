"""Snapshot export and import through the official CLI (`npx convex export` / `import`)
against real `bayou serve` processes, on SQLite and on PostgreSQL.

- a deployment with every value type, several tables, ids across tables and files is
  exported, checked against the ZIP layout and encoding of ops-surface.md §3.2, imported
  into a fresh deployment, and both are compared document by document and byte by byte;
- a ZIP written by hand from that spec (as Convex's backend writes one) imports;
- every mode and format of `npx convex import`, the `/dev/null` table reset;
- bad input — a corrupt or truncated ZIP, path traversal, a bad CSV header, a JSONL line
  that is not an object, ids of another table, a document too large, a row the schema
  refuses — fails with a message naming the row or entry and changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import secrets
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from bayou.values import ids
from tests.compat.conftest import BayouServer, ConvexApp, app_copy, eventually, start_server

pytestmark = pytest.mark.compat

APP = Path(__file__).parent / "snapshots_app"
ENGINES = ("sqlite", "postgres")


class Deployment:
    """A server with the snapshots app deployed, and helpers to look at its data."""

    def __init__(self, server: BayouServer, app: ConvexApp) -> None:
        self.server = server
        self.app = app

    def call(self, kind: str, path: str, args: dict[str, Any] | None = None) -> Any:
        response = httpx.post(
            f"{self.server.url}/api/{kind}",
            json={"path": path, "args": args or {}, "format": "convex_encoded_json"},
            headers={"Authorization": f"Convex {self.server.admin_key}"},
            timeout=60,
        )
        body = response.json()
        assert body.get("status") == "success", body
        return body["value"]

    def table(self, name: str) -> list[dict[str, Any]]:
        return self.call("query", "_system/cli/tableData", {"table": name})["page"]

    def upload(self, data: bytes, content_type: str) -> str:
        url = self.call("mutation", "data:generateUploadUrl")
        response = httpx.post(url, content=data, headers={"Content-Type": content_type})
        assert response.status_code == 200, response.text
        return response.json()["storageId"]


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The environment of servers on this engine (a fresh PostgreSQL database each)."""
    if request.param == "sqlite":
        yield {}
        return
    url = request.getfixturevalue("postgres_url")
    made: list[str] = []

    def env() -> dict[str, str]:
        name = f"bayou-snap-{secrets.token_hex(4)}"
        made.append(name.replace("-", "_"))
        return {"POSTGRES_URL": url, "DO_NOT_REQUIRE_SSL": "true", "INSTANCE_NAME": name}

    yield env  # type: ignore[misc]
    with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
        for database in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _env(engine: Any) -> dict[str, str]:
    return engine() if callable(engine) else dict(engine)


@pytest.fixture(scope="module")
def launch(
    engine: Any, node: str, js_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """`launch(deploy=True)`: a fresh server on this module's engine, the app deployed."""
    servers: list[BayouServer] = []

    def start(deploy: bool = True) -> Deployment:
        base = tmp_path_factory.mktemp("snap")
        server = start_server(base / "data", env=_env(engine))
        servers.append(server)
        app = app_copy(APP, base, server, node, js_dir)
        if deploy:
            app.deploy()
        return Deployment(server, app)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def source(launch: Any) -> Deployment:
    """The seeded deployment: every value type, refs across tables, two files."""
    dep = launch()
    dep.call("mutation", "data:seed")
    first = dep.upload(b"hello, file", "text/plain")
    dep.upload(bytes(range(256)) * 10, "application/octet-stream")
    dep.call("mutation", "data:attach", {"file": first})
    return dep


def _export(dep: Deployment, path: Path, *flags: str) -> zipfile.ZipFile:
    out = dep.app.cli("export", "--path", str(path), *flags)
    assert "Downloaded snapshot export" in out.stdout + out.stderr
    return zipfile.ZipFile(path)


def _lines(zf: zipfile.ZipFile, name: str) -> list[Any]:
    return [json.loads(line) for line in zf.read(name).splitlines() if line.strip()]


def test_export_writes_the_convex_zip_layout_and_encoding(
    source: Deployment, tmp_path: Path
) -> None:
    zf = _export(source, tmp_path / "snap.zip", "--include-file-storage")
    names = zf.namelist()
    assert names[:2] == ["README.md", "_tables/documents.jsonl"]
    tables = {row["name"]: row["id"] for row in _lines(zf, "_tables/documents.jsonl")}
    assert set(tables) == {"values", "refs", "strict"}
    # Tables smallest first, `_storage` last.
    assert names[2:8] == [
        "refs/documents.jsonl",
        "refs/generated_schema.jsonl",
        "strict/documents.jsonl",
        "strict/generated_schema.jsonl",
        "values/documents.jsonl",
        "values/generated_schema.jsonl",
    ]
    assert names[8] == "_storage/documents.jsonl"
    assert len(names) == 11 and all(n.startswith("_storage/") for n in names[8:])
    for info in zf.infolist():
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert (info.external_attr >> 16) & 0o777 == 0o644
    assert zf.read("values/generated_schema.jsonl") == b'"uniform"\n'
    raw = {
        json.loads(line)["kind"]: line
        for line in zf.read("values/documents.jsonl").decode().splitlines()
    }
    assert b'"value":1234567890123' in raw["int64"].encode()
    assert '"value":2.0' in raw["whole float"]
    assert '"value":1.5' in raw["float"]
    nan = base64.b64encode(struct.pack("<d", float("nan"))).decode()
    assert f'"value":{{"$float":"{nan}"}}' in raw["nan"]
    assert '"value":{"$bytes":"AAEC/w=="}' in raw["bytes"]
    docs = _lines(zf, "values/documents.jsonl")
    for doc in docs:
        assert ids.table_number_of(doc["_id"]) == tables["values"]
        assert isinstance(doc["_creationTime"], float)
    files = _lines(zf, "_storage/documents.jsonl")
    assert {f["size"] for f in files} == {11, 2560}
    text = next(f for f in files if f["size"] == 11)
    assert set(text) == {"_id", "_creationTime", "sha256", "size", "contentType", "internalId"}
    assert zf.read(f"_storage/{text['_id']}.txt") == b"hello, file"


def test_export_then_import_into_a_fresh_deployment_keeps_everything(
    source: Deployment, launch: Any, tmp_path: Path
) -> None:
    path = tmp_path / "snap.zip"
    _export(source, path, "--include-file-storage").close()
    target = launch()
    out = target.app.cli("import", "--replace-all", "-y", str(path))
    assert "Added" in out.stdout + out.stderr
    before, after = source.call("query", "data:dump"), target.call("query", "data:dump")
    assert after == before
    for doc in before["files"]:
        url = target.call("query", "data:fileUrl", {"file": doc["_id"]})
        original = source.call("query", "data:fileUrl", {"file": doc["_id"]})
        assert httpx.get(url).content == httpx.get(original).content
    # The imported deployment keeps working: new documents get new ids in the same tables.
    new_id = target.call("mutation", "data:addStrict", {"n": 99.0})
    assert ids.table_number_of(new_id) == ids.table_number_of(before["strict"][0]["_id"])


def _spec_zip(path: Path) -> dict[str, Any]:
    """A ZIP laid out as ops-surface.md §3.2 says Convex's backend writes one."""
    file_internal = bytes(range(16))
    file_id = ids.encode_id(28, file_internal)
    item = ids.encode_id(10001, bytes([7] * 16))
    tag = ids.encode_id(10002, bytes([9] * 16))
    data = b"spec file bytes"
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    # Written as text, byte for byte as the spec describes Convex's lines (an int64 past
    # 2**53, floats with a decimal point, `$float` and `$bytes`).
    items = (
        '{"_creationTime":1700000000000.5,"_id":"ITEM","big":9007199254740993,"f":3.0,'
        '"g":0.5,"nan":{"$float":"AAAAAAAA+H8="},"raw":{"$bytes":"3q2+7w=="},'
        '"nested":{"a":[1,2.5,{"b":null}]},"file":"FILE","tag":"TAG"}\n'
    )
    items = items.replace("ITEM", item).replace("FILE", file_id).replace("TAG", tag)
    tags = '{"_creationTime":1700000000000.0,"_id":"TAG","name":"t"}\n'.replace("TAG", tag)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.md", "exported\n")
        zf.writestr(
            "_tables/documents.jsonl",
            '{"name":"items","id":10001}\n{"name":"tags","id":10002}\n',
        )
        zf.writestr(
            "tags/documents.jsonl",
            tags,
        )
        zf.writestr("tags/generated_schema.jsonl", '"uniform"\n')
        zf.writestr("items/documents.jsonl", items)
        zf.writestr("items/generated_schema.jsonl", '"uniform"\n')
        zf.writestr(
            "_storage/documents.jsonl",
            json.dumps(
                {
                    "_id": file_id,
                    "_creationTime": 1700000000000.25,
                    "sha256": sha,
                    "size": len(data),
                    "contentType": "text/plain",
                    "internalId": "x",
                }
            )
            + "\n",
        )
        zf.writestr(f"_storage/{file_id}.txt", data)
    return {"item": item, "tag": tag, "file": file_id, "data": data}


def test_a_zip_written_from_the_spec_imports(launch: Any, tmp_path: Path) -> None:
    expected = _spec_zip(tmp_path / "spec.zip")
    target = launch(deploy=False)
    target.app.cli("import", "-y", str(tmp_path / "spec.zip"))
    [item] = target.table("items")
    assert item["_id"] == expected["item"]
    assert item["_creationTime"] == 1700000000000.5
    int64 = base64.b64encode(struct.pack("<q", 9007199254740993)).decode()
    assert item["big"] == {"$integer": int64}
    assert item["f"] == 3.0 and item["g"] == 0.5
    assert item["nan"] == {"$float": "AAAAAAAA+H8="}
    assert item["raw"] == {"$bytes": "3q2+7w=="}
    one = base64.b64encode(struct.pack("<q", 1)).decode()
    assert item["nested"] == {"a": [{"$integer": one}, 2.5, {"b": None}]}
    assert target.table("tags")[0]["_id"] == expected["tag"]
    [stored] = target.table("_storage")
    assert stored["_id"] == expected["file"] and stored["size"] == len(expected["data"])
    uuid = str(__import__("uuid").UUID(bytes=bytes(range(16))))
    assert httpx.get(f"{target.server.url}/api/storage/{uuid}").content == expected["data"]


def test_every_mode_and_format_through_the_cli(source: Deployment, tmp_path: Path) -> None:
    cli = source.app.cli
    (tmp_path / "a.jsonl").write_text('{"x": 1}\n{"x": 2, "y": {"$integer": "AQAAAAAAAAA="}}\n')
    (tmp_path / "b.json").write_text('[{"x": 3}, {"x": 4}, {"x": 5}]')
    (tmp_path / "c.csv").write_text("x,name\n6,six\n7.5,seven\n")
    cli("import", "--table", "modes", "-y", str(tmp_path / "a.jsonl"))
    assert sorted(d["x"] for d in source.table("modes")) == [1.0, 2.0]
    # requireEmpty refuses a table with documents.
    out = cli("import", "--table", "modes", "-y", str(tmp_path / "b.json"), check=False)
    assert out.returncode != 0 and "Table modes already exists" in out.stdout + out.stderr
    cli("import", "--table", "modes", "--append", "-y", str(tmp_path / "b.json"))
    assert len(source.table("modes")) == 5
    cli("import", "--table", "modes", "--replace", "-y", str(tmp_path / "c.csv"))
    rows = sorted((d["x"], d["name"]) for d in source.table("modes"))
    assert rows == [(6.0, "six"), (7.5, "seven")]
    # The documented table reset: import /dev/null (zero upload parts).
    cli("import", "--table", "modes", "--replace", "--format", "jsonLines", "-y", "/dev/null")
    assert source.table("modes") == []
    # replaceAll empties the tables the import does not name.
    cli("import", "--table", "other", "-y", str(tmp_path / "a.jsonl"))
    zip_path = tmp_path / "only.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("modes/documents.jsonl", '{"x": 8}\n')
    cli("import", "--replace-all", "-y", str(zip_path))
    assert [d["x"] for d in source.table("modes")] == [8]
    assert source.table("other") == []
    assert source.table("values") == []  # the seeded table went too (the module's last use)


@pytest.mark.parametrize(
    ("name", "content", "flags", "message"),
    [
        ("bad.zip", b"PK\x03\x04 not really a zip", (), "not a valid ZIP archive"),
        ("trav.zip", "traversal", (), "'../../etc/passwd' is not a valid path"),
        ("h.csv", b"ok,$bad\n1,2\n", ("--table", "strict"), "CSV header '$bad'"),
        ("l.jsonl", b'{"n": 1}\n[1, 2]\n', ("--table", "strict"), "Row 2 wasn't an object"),
        ("big.jsonl", "big", ("--table", "strict", "--replace"), "Document is too large"),
        ("ids.jsonl", "ids", ("--table", "strict", "--append"), "is an id of table 'values'"),
        ("s.jsonl", b'{"n": 1}\n{"n": "two"}\n', ("--table", "strict", "--replace"), "Row 2"),
        ("trunc.zip", "truncated", (), "ZIP"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    launch: Any,
    tmp_path: Path,
    name: str,
    content: Any,
    flags: tuple[str, ...],
    message: str,
    bad_input_target: Deployment,
) -> None:
    dep = bad_input_target
    path = tmp_path / name
    if content == "traversal":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("../../etc/passwd", "root")
    elif content == "big":
        path.write_text(json.dumps({"n": 1, "blob": "x" * (1 << 20)}) + "\n")
    elif content == "ids":
        other = dep.table("values")[0]["_id"]
        path.write_text(json.dumps({"_id": other, "n": 1}) + "\n")
    elif content == "truncated":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("strict/documents.jsonl", '{"n": 1}\n' * 1000)
        path.write_bytes(buffer.getvalue()[:-40])
    else:
        path.write_bytes(content)
    before = {t: dep.table(t) for t in ("strict", "values", "refs")}
    out = dep.app.cli("import", "-y", *flags, str(path), check=False)
    assert out.returncode != 0
    assert message in out.stdout + out.stderr
    assert {t: dep.table(t) for t in ("strict", "values", "refs")} == before


@pytest.fixture(scope="module")
def bad_input_target(launch: Any) -> Deployment:
    dep = launch()
    dep.call("mutation", "data:seed")
    return dep


def _admin(dep: Deployment) -> dict[str, str]:
    return {"Authorization": f"Convex {dep.server.admin_key}"}


def _import_state(dep: Deployment, import_id: str) -> dict[str, Any]:
    return dep.call("query", "_system/cli/queryImport", {"importId": import_id})["state"]


def test_an_upload_in_many_parts_imports_whole(
    bad_input_target: Deployment, tmp_path: Path
) -> None:
    dep = bad_input_target
    path = tmp_path / "parts.jsonl"
    path.write_text("".join(json.dumps({"i": i, "pad": "p" * 50}) + "\n" for i in range(400)))
    dep.app.cli(
        "import", "--table", "parts", "-y", str(path), env={"CONVEX_IMPORT_CHUNK_SIZE": "1000"}
    )
    assert sorted(d["i"] for d in dep.table("parts")) == [float(i) for i in range(400)]


def test_an_import_waiting_for_confirmation_can_be_canceled(bad_input_target: Deployment) -> None:
    dep = bad_input_target
    url, headers = dep.server.url, _admin(dep)
    before = dep.table("strict")
    token = httpx.post(f"{url}/api/import/start_upload", headers=headers).json()["uploadToken"]
    part = httpx.post(
        f"{url}/api/import/upload_part",
        params={"uploadToken": token, "partNumber": 1},
        content=b'{"n": 42}\n',
        headers={**headers, "Content-Type": "application/octet-stream"},
    ).json()
    import_id = httpx.post(
        f"{url}/api/import/finish_upload",
        json={
            "import": {"tableName": "strict", "mode": "replace", "format": "jsonLines"},
            "uploadToken": token,
            "partTokens": [part],
        },
        headers=headers,
    ).json()["importId"]
    state = eventually(
        lambda: (s := _import_state(dep, import_id))["state"] == "waiting_for_confirmation" and s
    )
    assert state["require_manual_confirmation"] is True  # it would delete documents
    assert "strict | 1 | 5 of 5" in state["message_to_confirm"]
    listed = dep.call("query", "_system/cli/queryImport:list")
    assert listed[0]["_id"] == import_id
    assert (
        httpx.post(
            f"{url}/api/cancel_import", json={"importId": import_id}, headers=headers
        ).status_code
        == 200
    )
    assert _import_state(dep, import_id) == {"state": "failed", "error_message": "Import canceled"}
    refused = httpx.post(f"{url}/api/perform_import", json={"importId": import_id}, headers=headers)
    assert refused.status_code == 400
    assert dep.table("strict") == before
