"""`S3_STORAGE_EXPORTS_BUCKET` and `S3_STORAGE_SNAPSHOT_IMPORTS_BUCKET` (Convex's names),
against moto's S3 server on loopback: `npx convex export` leaves its ZIP in the exports
bucket (nothing in the data directory) and downloads it from there; an import's uploaded
parts are kept in the imports bucket until the upload finishes; the round trip keeps every
document and file."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.blobs.moto_server import MotoServer
from tests.compat.conftest import BayouServer, ConvexApp, app_copy, start_server

pytestmark = pytest.mark.compat

APP = Path(__file__).parent / "snapshots_app"


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[MotoServer]:
    with MotoServer.start(tmp_path) as server:
        yield server


def _call(server: BayouServer, kind: str, path: str, args: dict | None = None) -> object:
    response = httpx.post(
        f"{server.url}/api/{kind}",
        json={"path": path, "args": args or {}, "format": "convex_encoded_json"},
        headers={"Authorization": f"Convex {server.admin_key}"},
        timeout=60,
    )
    body = response.json()
    assert body.get("status") == "success", body
    return body["value"]


def test_exports_and_import_uploads_live_in_their_buckets(
    moto: MotoServer, tmp_path: Path, node: str, js_dir: Path
) -> None:
    exports, imports = moto.create_bucket("exports"), moto.create_bucket("imports")
    env = {k: v for k, v in moto.env(exports).items() if k != "S3_STORAGE_FILES_BUCKET"}
    env |= {"S3_STORAGE_EXPORTS_BUCKET": exports, "S3_STORAGE_SNAPSHOT_IMPORTS_BUCKET": imports}
    data = tmp_path / "data"
    server = start_server(data, env=env)
    try:
        app: ConvexApp = app_copy(APP, tmp_path, server, node, js_dir).deploy()
        _call(server, "mutation", "data:seed")
        url = _call(server, "mutation", "data:generateUploadUrl")
        stored = httpx.post(
            url, content=b"kept in a bucket", headers={"Content-Type": "text/plain"}
        )
        _call(server, "mutation", "data:attach", {"file": stored.json()["storageId"]})
        before = _call(server, "query", "data:dump")

        path = tmp_path / "snap.zip"
        out = app.cli("export", "--path", str(path), "--include-file-storage")
        assert "Downloaded snapshot export" in out.stdout + out.stderr
        [key] = moto.keys(exports)
        assert key.startswith("convex-self-hosted-")  # under the deployment's storage prefix
        assert zipfile.ZipFile(path).testzip() is None
        assert moto.client().head_object(Bucket=exports, Key=key)["ContentLength"] == (
            path.stat().st_size
        )
        assert not list((data / "storage" / "exports").glob("*.zip"))  # not in the data dir

        # The upload protocol by hand: a part is in the bucket until the upload finishes.
        headers = {"Authorization": f"Convex {server.admin_key}"}
        token = httpx.post(f"{server.url}/api/import/start_upload", headers=headers).json()[
            "uploadToken"
        ]
        body = path.read_bytes()
        half = len(body) // 2
        parts = []
        for number, chunk in enumerate((body[:half], body[half:]), start=1):
            response = httpx.post(
                f"{server.url}/api/import/upload_part",
                params={"uploadToken": token, "partNumber": number},
                content=chunk,
                headers=headers,
            )
            assert response.status_code == 200, response.text
            parts.append(response.json())
        assert len(moto.keys(imports)) == 2
        assert not any(p.is_file() and p.stat().st_size for p in (data / "storage").rglob("0000*"))
        finished = httpx.post(
            f"{server.url}/api/import/finish_upload",
            json={
                "import": {"format": "zip", "mode": "replaceAll"},
                "uploadToken": token,
                "partTokens": parts,
            },
            headers=headers,
        )
        assert finished.status_code == 200, finished.text
        assert moto.keys(imports) == []  # joined and deleted from the bucket
        httpx.post(f"{server.url}/api/cancel_import", json=finished.json(), headers=headers)

        # The official CLI's import of the bucket-stored export restores everything.
        _call(server, "mutation", "data:addStrict", {"n": 7.0})
        out = app.cli("import", "--replace-all", "-y", str(path))
        assert "Added" in out.stdout + out.stderr
        assert _call(server, "query", "data:dump") == before
        assert moto.keys(imports) == []
    finally:
        server.stop()
