"""File storage end to end, with real processes: the chat examples in both languages
(`examples/*/convex/files.*`) on `bayou serve` with files in the data directory and in an
S3 bucket of a real S3 API server (moto, on loopback).

Each deployment runs the upload flow of the Convex docs — a mutation's upload URL, the
bytes POSTed with httpx, the id saved in a document, read back through `getUrl` — plus
range requests, `store`/`get` in an action, an HTTP action that stores the request's body
and serves it back, deletion (the blob goes once the deletion commits), and bad input:
expired and forged tokens, a wrong digest, unknown and malformed ids.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bayou.auth.credentials import load_stored
from bayou.files.tokens import UploadTokens
from tests.blobs.moto_server import MotoServer
from tests.compat.apps.conftest import PY_APP, TS_APP, ChatDeployment, working_copy
from tests.compat.conftest import ConvexApp, eventually, start_server

pytestmark = pytest.mark.compat

STORES = ("local", "s3")
LANGUAGES = ("ts", "py")


# The "upload through an HTTP action" pattern, added to the working copy's router.
class FunctionError(AssertionError):
    pass


def launch_with_files(
    language: str,
    base: Path,
    node: str,
    js_dir: Path,
    env: dict[str, str] | None = None,
) -> ChatDeployment:
    """The chat example on its own server (`env`: e.g. S3)."""
    server = start_server(base / "data", env=env)
    try:
        work = working_copy(TS_APP if language == "ts" else PY_APP, base, js_dir)
        deployment = ChatDeployment(language, server, ConvexApp(work, server, node, js_dir))
        deployment.deploy()
    except BaseException:
        server.stop()
        raise
    return deployment


def call(dep: ChatDeployment, kind: str, path: str, args: dict[str, Any] | None = None) -> Any:
    """Run a function over Convex's HTTP API; its value, or `FunctionError`."""
    response = httpx.post(
        f"{dep.url}/api/{kind}",
        json={"path": path, "args": args or {}, "format": "json"},
        timeout=60,
    )
    body = response.json()
    if body.get("status") != "success":
        raise FunctionError(body.get("errorMessage") or body)
    return body["value"]


def upload(
    dep: ChatDeployment, data: bytes, content_type: str | None = "text/plain", **headers: str
) -> httpx.Response:
    url = call(dep, "mutation", "files:generateUploadUrl")
    assert url.startswith(f"{dep.url}/api/storage/upload?token=")
    sent = dict(headers)
    if content_type:
        sent["Content-Type"] = content_type
    return httpx.post(url, content=data, headers=sent, timeout=60)


def audit(dep: ChatDeployment) -> dict[str, Any]:
    """The server's own check of its files (what `bayou doctor` prints)."""
    response = httpx.get(
        f"{dep.url}/api/bayou/storage",
        headers={"Authorization": f"Convex {dep.admin_key}"},
        timeout=60,
    )
    response.raise_for_status()
    return response.json()


def digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with MotoServer.start(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(scope="module")
def deployments(
    tmp_path_factory: pytest.TempPathFactory, node: str, js_dir: Path, moto: MotoServer
) -> Iterator[dict[tuple[str, str], ChatDeployment]]:
    """Started on first use: (language, store) → deployment; all stopped at the end."""
    started: dict[tuple[str, str], ChatDeployment] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, key: tuple[str, str]) -> ChatDeployment:
            language, store = key
            env = None
            if store == "s3":
                env = moto.env(moto.create_bucket(f"files-{language}"))
            base = tmp_path_factory.mktemp(f"files-{language}-{store}")
            started[key] = self[key] = launch_with_files(language, base, node, js_dir, env)
            return started[key]

    try:
        yield Lazy()
    finally:
        for deployment in started.values():
            deployment.server.stop()


@pytest.fixture(params=[(lang, store) for store in STORES for lang in LANGUAGES], ids="-".join)
def dep(request: pytest.FixtureRequest, deployments: dict) -> ChatDeployment:
    deployment: ChatDeployment = deployments[request.param]
    return deployment


def test_the_upload_flow_of_the_docs(dep: ChatDeployment) -> None:
    data = b"The quick brown fox\n" * 1000
    answer = upload(dep, data, "text/plain; charset=utf-8", Digest=f"sha-256={digest(data)}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    storage_id = answer.json()["storageId"]
    assert list(answer.json()) == ["storageId"] and len(storage_id) == 31

    doc_id = call(dep, "mutation", "files:save", {"storageId": storage_id, "name": "fox.txt"})
    [listed] = [f for f in call(dep, "query", "files:list") if f["id"] == doc_id]
    assert listed["size"] == len(data) and listed["sha256"] == digest(data)
    assert listed["contentType"] == "text/plain; charset=utf-8"
    assert listed["url"].startswith(f"{dep.url}/api/storage/")

    served = httpx.get(listed["url"], timeout=60)
    assert served.status_code == 200 and served.content == data
    assert served.headers["content-type"] == "text/plain; charset=utf-8"
    assert served.headers["content-length"] == str(len(data))
    assert served.headers["digest"] == f"sha-256={digest(data)}"
    assert served.headers["cache-control"] == "private, max-age=2592000"
    assert served.headers["accept-ranges"] == "bytes"

    meta = call(dep, "query", "files:metadata", {"storageId": storage_id})
    assert meta == {
        "storageId": listed["url"].rsplit("/", 1)[1],
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "contentType": "text/plain; charset=utf-8",
    }
    # A file's UUID (Convex's legacy storage id) works where ids do.
    assert call(dep, "query", "files:url", {"storageId": meta["storageId"]}) == listed["url"]


def test_range_requests(dep: ChatDeployment) -> None:
    data = bytes(range(256)) * 40
    storage_id = upload(dep, data, "application/octet-stream").json()["storageId"]
    url = call(dep, "query", "files:url", {"storageId": storage_id})
    part = httpx.get(url, headers={"Range": "bytes=100-199"}, timeout=60)
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert part.headers["content-length"] == "100" and "digest" not in part.headers
    tail = httpx.get(url, headers={"Range": "bytes=-10"}, timeout=60)
    assert tail.status_code == 206 and tail.content == data[-10:]
    several = httpx.get(url, headers={"Range": "bytes=0-1,5-6"}, timeout=60)
    assert several.status_code == 416
    past = httpx.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=60)
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(data)}"
    head = httpx.head(url, timeout=60)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))


def test_store_and_get_in_an_action(dep: ChatDeployment) -> None:
    storage_id = call(
        dep, "action", "files:storeText", {"text": "written by an action", "name": "a"}
    )
    assert call(dep, "action", "files:readText", {"storageId": storage_id}) == {
        "text": "written by an action",
        "type": "text/plain",
    }
    url = call(dep, "query", "files:url", {"storageId": storage_id})
    assert httpx.get(url, timeout=60).text == "written by an action"


def test_an_http_action_stores_the_request_body_and_serves_it(dep: ChatDeployment) -> None:
    data = b"%PDF-1.4 through an HTTP action"
    for base in (dep.server.site_url, dep.url + "/http"):
        stored = httpx.post(
            f"{base}/files/upload",
            content=data,
            headers={"Content-Type": "application/pdf"},
            timeout=60,
        )
        assert stored.status_code == 200, stored.text
        storage_id = stored.json()["storageId"]
        served = httpx.get(f"{base}/files/serve", params={"id": storage_id}, timeout=60)
        assert served.content == data and served.headers["content-type"] == "application/pdf"
        meta = call(dep, "query", "files:metadata", {"storageId": storage_id})
        assert meta["contentType"] == "application/pdf" and meta["size"] == len(data)


def test_deleting_a_file_removes_its_row_then_its_blob(dep: ChatDeployment) -> None:
    storage_id = upload(dep, b"short-lived").json()["storageId"]
    doc_id = call(dep, "mutation", "files:save", {"storageId": storage_id, "name": "tmp"})
    url = call(dep, "query", "files:url", {"storageId": storage_id})
    blobs = audit(dep)["blobs"]
    assert call(dep, "mutation", "files:remove", {"id": doc_id}) is True
    assert call(dep, "query", "files:url", {"storageId": storage_id}) is None
    assert call(dep, "query", "files:metadata", {"storageId": storage_id}) is None
    missing = httpx.get(url, timeout=60)
    assert missing.status_code == 404 and missing.json()["code"] == "FileNotFound"
    assert all(f["id"] != doc_id for f in call(dep, "query", "files:list"))
    eventually(lambda: audit(dep)["blobs"] == blobs - 1)
    report = audit(dep)
    assert report["orphanedBlobs"] == 0 and report["missingBlobs"] == 0


def test_expired_and_forged_tokens_are_refused(dep: ChatDeployment) -> None:
    url = call(dep, "mutation", "files:generateUploadUrl")
    base, token = url.split("token=")
    forged = httpx.post(base + "token=" + token[:-6] + "abcdef", content=b"x", timeout=60)
    assert forged.status_code == 401
    assert forged.json() == {
        "code": "StorageTokenInvalid",
        "message": "Couldn't decode the StoreFileAuthorization token",
    }
    creds = load_stored(dep.server.data_dir, name=None, secret_hex=None)
    old = UploadTokens(creds.secret, creds.name, clock=lambda: time.time() - 3601).issue()
    expired = httpx.post(base + "token=" + old, content=b"x", timeout=60)
    assert expired.status_code == 401
    assert expired.json() == {
        "code": "StorageTokenExpired",
        "message": "Store File Authorization expired",
    }
    missing = httpx.post(base.rstrip("?"), content=b"x", timeout=60)
    assert missing.status_code == 400


def test_a_wrong_digest_stores_nothing(dep: ChatDeployment) -> None:
    before = audit(dep)
    answer = upload(dep, b"tampered", Digest=f"sha-256={digest(b'original')}")
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "Sha256Mismatch",
        "message": f"Sha256 mismatch. Expected: {digest(b'original')} Actual: "
        f"{digest(b'tampered')}",
    }
    after = audit(dep)
    assert (after["files"], after["blobs"]) == (before["files"], before["blobs"])
    assert after["uploadsInFlight"] == 0


def test_unknown_and_malformed_storage_ids(dep: ChatDeployment) -> None:
    gone = upload(dep, b"x").json()["storageId"]
    call(
        dep,
        "mutation",
        "files:remove",
        {"id": call(dep, "mutation", "files:save", {"storageId": gone, "name": "x"})},
    )
    assert call(dep, "query", "files:url", {"storageId": gone}) is None
    assert (
        call(dep, "query", "files:url", {"storageId": "00000000-0000-0000-0000-000000000000"})
        is None
    )
    not_found = httpx.get(f"{dep.url}/api/storage/00000000-0000-4000-8000-000000000000", timeout=60)
    assert not_found.status_code == 404 and not_found.json()["code"] == "FileNotFound"
    bad_path = httpx.get(f"{dep.url}/api/storage/not-a-uuid", timeout=60)
    assert bad_path.status_code == 400 and bad_path.json()["code"] == "InvalidStoragePath"

    with pytest.raises(FunctionError, match='Invalid storage ID: "nonsense"'):
        call(dep, "query", "files:url", {"storageId": "nonsense"})
    user = call(
        dep, "mutation", "users:create", {"name": "Ida", "email": f"ida-{dep.language}@x.test"}
    )
    with pytest.raises(FunctionError, match="cannot be an ID on any table other than '_storage'"):
        call(dep, "query", "files:url", {"storageId": user})
    # v.id("_storage") refuses what is not a storage id.
    for wrong in ("nonsense", user):
        with pytest.raises(FunctionError) as invalid:
            call(dep, "mutation", "files:save", {"storageId": wrong, "name": "x"})
        assert "ArgumentValidationError: " in str(invalid.value)
        assert 'v.id("_storage")' in str(invalid.value)
    with pytest.raises(FunctionError, match=f"storage id {gone} not found"):
        call(
            dep,
            "mutation",
            "files:remove",
            {"id": call(dep, "mutation", "files:save", {"storageId": gone, "name": "y"})},
        )


def test_npx_convex_data_lists_the_storage_table(deployments: dict) -> None:
    dep: ChatDeployment = deployments[("ts", "local")]
    storage_id = upload(dep, b"listed", "text/csv").json()["storageId"]
    listed = dep.npx("data", "_storage", "--limit", "1000").stdout
    assert storage_id in listed and "text/csv" in listed and digest(b"listed") in listed


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_action_stores_and_reads_back_a_large_file(deployments: dict, language: str) -> None:
    dep: ChatDeployment = deployments[(language, "local")]
    text = "0123456789abcdef" * (14 * 1024 * 1024 // 16)  # 14 MiB through the worker pipe
    started = time.monotonic()
    storage_id = call(dep, "action", "files:storeText", {"text": text, "name": "big"})
    back = call(dep, "action", "files:readText", {"storageId": storage_id})
    assert back["text"] == text and time.monotonic() - started < 30
