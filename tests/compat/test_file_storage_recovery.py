"""Files are never silently lost, with real processes: a restart with the bucket switched
or the files' volume missing is refused with a message; a server killed during an upload
leaves no row without a blob and no blob for ever; a full disk fails the upload and
leaves nothing; an S3 endpoint that is down or refuses the credentials stops the start
naming the bucket, and one that fails later fails that call, in seconds; a 300 MB upload
keeps the server's memory flat; `bayou doctor` reports orphaned and missing blobs."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.blobs.moto_server import MotoServer, free_port
from tests.compat.apps.conftest import ChatDeployment
from tests.compat.conftest import BayouServer, eventually
from tests.compat.test_file_storage import audit, call, launch_with_files, upload

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with MotoServer.start(tmp_path_factory.mktemp("moto")) as server:
        yield server


@contextlib.contextmanager
def py_app(
    tmp_path: Path, node: str, js_dir: Path, env: dict[str, str] | None = None
) -> Iterator[ChatDeployment]:
    """The Python chat app (deployed in a second or two) on a server of its own."""
    dep = launch_with_files("py", tmp_path, node, js_dir, env)
    try:
        yield dep
    finally:
        dep.server.stop()


def refused_start(server: BayouServer) -> str:
    """Start `server` expecting it to refuse; the one line it printed."""
    with pytest.raises(RuntimeError) as e:
        server.start()
    assert "exited with 1" in str(e.value)
    [line] = [li for li in server.log_tail(20_000).splitlines() if li.startswith("bayou serve:")][
        -1:
    ]
    return line


def prefix_dir(dep: ChatDeployment) -> Path:
    [found] = (dep.server.data_dir / "storage" / "files").glob("*/bayou-store.json")
    return found.parent


def test_a_restart_with_the_bucket_switched_is_refused_with_the_message(
    moto: MotoServer, tmp_path: Path, node: str, js_dir: Path
) -> None:
    first, second = moto.create_bucket("recovery-first"), moto.create_bucket("recovery-second")
    with py_app(tmp_path, node, js_dir, moto.env(first)) as dep:
        storage_id = call(dep, "action", "files:storeText", {"text": "kept", "name": "k"})
        dep.server.stop()
        dep.server.env = moto.env(second)
        line = refused_start(dep.server)
        assert "that is not in the configured file store, S3 bucket 'recovery-second'" in line
        assert "S3 bucket 'recovery-first'" in line and moto.url in line
        assert "S3_STORAGE_FILES_BUCKET" in line and "bayou-store.json" in line
        dep.server.env = moto.env(first)
        dep.server.start()
        url = call(dep, "query", "files:url", {"storageId": storage_id})
        assert httpx.get(url, timeout=60).text == "kept"


def test_a_data_directory_whose_files_volume_is_missing_is_refused(
    tmp_path: Path, node: str, js_dir: Path
) -> None:
    with py_app(tmp_path, node, js_dir) as dep:
        call(dep, "action", "files:storeText", {"text": "on the volume", "name": "v"})
        dep.server.stop()
        files = dep.server.data_dir / "storage" / "files"
        files.rename(files.with_name("files.unmounted"))
        line = refused_start(dep.server)
        assert f"the configured file store, local directory {files}: it holds no Bayou" in line
        shutil.rmtree(files)  # what the refused start made in the empty mount point
        files.with_name("files.unmounted").rename(files)
        dep.server.start()
        assert call(dep, "query", "files:list")[0]["name"] == "v"


@pytest.mark.parametrize("store", ["local", "s3"])
def test_a_server_killed_during_an_upload_leaves_no_row_and_no_blob(
    store: str, moto: MotoServer, tmp_path: Path, node: str, js_dir: Path
) -> None:
    bucket = moto.create_bucket(f"killed-{free_port()}") if store == "s3" else ""
    with py_app(tmp_path, node, js_dir, moto.env(bucket) if bucket else None) as dep:
        before = audit(dep)
        url = call(dep, "mutation", "files:generateUploadUrl")
        release = threading.Event()

        def body() -> Iterator[bytes]:
            for _ in range(12):  # 12 MiB: a first S3 part is sent
                yield b"x" * (1024 * 1024)
            release.wait(60)
            yield b"never"

        def send() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(url, content=body(), timeout=60)

        sender = threading.Thread(target=send)
        sender.start()
        tmp = dep.server.data_dir / "storage" / "files" / ".tmp"
        if store == "local":
            eventually(lambda: any(p.stat().st_size > 0 for p in tmp.iterdir()))
        else:
            eventually(lambda: moto.unfinished_uploads(bucket))
        dep.server.kill()  # SIGKILL, mid-upload
        release.set()
        sender.join()

        dep.server.start()
        after = audit(dep)
        assert (after["files"], after["orphanedBlobs"]) == (before["files"], 0)
        assert after["blobs"] == before["blobs"]  # no partial blob
        assert after["uploadsInFlight"] == 1  # collected after the URL's expiry (tests/files)
        if store == "local":
            eventually(lambda: list(tmp.iterdir()) == [])
        else:
            eventually(lambda: moto.unfinished_uploads(bucket) == [])


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A data directory whose `storage` is a 6 MiB tmpfs (needs root)."""
    data = tmp_path / "data"
    storage = data / "storage"
    storage.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(storage)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(storage)], check=False)


def test_a_full_disk_fails_the_upload_and_leaves_nothing(
    small_disk: Path, node: str, js_dir: Path
) -> None:
    with py_app(small_disk.parent, node, js_dir) as dep:
        before = audit(dep)
        answer = upload(dep, os.urandom(8 * 1024 * 1024), "application/octet-stream")
        assert answer.status_code == 507 and answer.json()["code"] == "StorageFull"
        assert "is full (No space left on device)" in answer.json()["message"]
        after = audit(dep)
        assert (after["files"], after["blobs"], after["uploadsInFlight"]) == (
            before["files"],
            before["blobs"],
            0,
        )
        assert list((small_disk / "storage" / "files" / ".tmp").iterdir()) == []
        assert upload(dep, b"small still fits").status_code == 200


def test_an_s3_endpoint_that_is_down_stops_the_start_naming_bucket_and_endpoint(
    tmp_path: Path,
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    server = BayouServer(
        tmp_path / "data",
        free_port(),
        free_port(),
        tmp_path / "server.log",
        env={
            "S3_STORAGE_FILES_BUCKET": "files-bucket",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
            "S3_ENDPOINT_URL": endpoint,
        },
    )
    started = time.monotonic()
    line = refused_start(server)
    assert time.monotonic() - started < 30
    assert "Cannot reach the file store, S3 bucket 'files-bucket' at " + endpoint in line


def test_wrong_s3_credentials_stop_the_start_naming_the_bucket(tmp_path: Path) -> None:
    with MotoServer.start(tmp_path, auth=True) as guarded:
        bucket = guarded.create_bucket("guarded-files")
        env = {**guarded.env(bucket), "AWS_SECRET_ACCESS_KEY": "wrong"}
        server = BayouServer(
            tmp_path / "data", free_port(), free_port(), tmp_path / "server.log", env=env
        )
        line = refused_start(server)
        assert "S3 bucket 'guarded-files' at " + guarded.url in line
        assert "refused the credentials" in line and "AWS_SECRET_ACCESS_KEY" in line


def test_a_store_that_fails_during_a_call_fails_that_call_in_seconds(
    tmp_path: Path, node: str, js_dir: Path
) -> None:
    with MotoServer.start(tmp_path) as fleeting:
        bucket = fleeting.create_bucket("fleeting-files")
        with py_app(tmp_path, node, js_dir, fleeting.env(bucket)) as dep:
            storage_id = call(dep, "action", "files:storeText", {"text": "x", "name": "x"})
            file_url = call(dep, "query", "files:url", {"storageId": storage_id})
            fleeting.process.terminate()
            fleeting.process.wait()
            started = time.monotonic()
            answer = upload(dep, b"nowhere to go")
            assert answer.status_code == 503 and answer.json()["code"] == "StorageUnavailable"
            assert "'fleeting-files'" in answer.json()["message"]
            served = httpx.get(file_url, timeout=60)
            assert served.status_code == 503 and fleeting.url in served.json()["message"]
            with pytest.raises(AssertionError, match="Cannot reach the file store"):
                call(dep, "action", "files:readText", {"storageId": storage_id})
            assert time.monotonic() - started < 60  # three calls, each bounded
            # The database side still answers.
            assert call(dep, "query", "files:url", {"storageId": storage_id}) == file_url


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_a_300_mb_upload_and_download_keep_the_servers_memory_flat(
    tmp_path: Path, node: str, js_dir: Path
) -> None:
    with py_app(tmp_path, node, js_dir) as dep:
        pid = dep.server.pid
        upload(dep, b"warm up")
        baseline = rss_mib(pid)
        peak = baseline
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, rss_mib(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            chunk = os.urandom(1024 * 1024)
            url = call(dep, "mutation", "files:generateUploadUrl")
            answer = httpx.post(url, content=(chunk for _ in range(300)), timeout=300)
            assert answer.status_code == 200, answer.text
            storage_id = answer.json()["storageId"]
            file_url = call(dep, "query", "files:url", {"storageId": storage_id})
            received = 0
            with httpx.stream("GET", file_url, timeout=300) as response:
                for part in response.iter_bytes():
                    received += len(part)
            assert received == 300 * 1024 * 1024
        finally:
            stop.set()
            sampler.join()
        assert peak - baseline < 100, f"RSS grew from {baseline:.0f} to {peak:.0f} MiB"


def test_bayou_doctor_names_the_store_and_reports_orphaned_and_missing_blobs(
    tmp_path: Path, node: str, js_dir: Path
) -> None:
    with py_app(tmp_path, node, js_dir) as dep:
        call(dep, "action", "files:storeText", {"text": "kept", "name": "kept"})
        lost = call(dep, "action", "files:storeText", {"text": "lost", "name": "lost"})
        healthy = dep.bayou("doctor", check=False).stdout
        store = dep.server.data_dir / "storage" / "files"
        assert f"[ok  ] file store: local directory {store}" in healthy
        assert "[ok  ] files: 2 file(s), 2 blob(s)" in healthy
        assert "every file has its blob, no orphans" in healthy

        meta = call(dep, "query", "files:metadata", {"storageId": lost})
        (prefix_dir(dep) / meta["storageId"]).unlink()  # data lost behind Bayou's back
        (prefix_dir(dep) / "stray").write_bytes(b"no file refers to me")
        report = dep.bayou("doctor", check=False)
        assert report.returncode == 1
        assert "[FAIL] files: 2 file(s), 2 blob(s)" in report.stdout
        assert "1 file(s) whose data is missing from the store" in report.stdout
        assert lost in report.stdout
        assert "1 orphaned blob(s) no file refers to" in report.stdout
        assert f"{prefix_dir(dep).name}/stray" in report.stdout
