"""Benchmark: file storage throughput through Bayou against raw baselines, in one run, and
the server's memory during a 1 GB upload (issue 12).

    baseline  file copy   up: `shutil.copyfile` + fsync (what a local store cannot beat:
                          read the file, write it durably); down: `shutil.copyfile`
    baseline  S3 direct   boto3 `put_object` / `get_object` to the same moto server
    bayou     local       `bayou serve` with files in its data directory: POST to an upload
                          URL (streamed from the file; the URL is made before the clock
                          starts), GET the file URL (streamed)
    bayou     S3          the same, with `S3_STORAGE_FILES_BUCKET` on the moto server

for 1 MB and 100 MB files (median of several runs, MB = 10^6 bytes), then one 1 GB upload
and download through the local-store server while its RSS is sampled every 20 ms. The
client (httpx) runs in this process, on the same machine as the server: the numbers are
end to end on one box. Everything listens on loopback.

    python bench/storage_bench.py
    python bench/storage_bench.py --sizes 1,100 --runs 5 --big-mb 1000 --big-s3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_transfer import BAYOU, ROOT, admin_key, deploy_app, free_port, wait_ready

MB = 1_000_000
CHUNK = 1024 * 1024
REGION = "us-east-1"


@dataclass
class Row:
    what: str
    size_mb: int
    up_mbs: float
    down_mbs: float


def make_file(path: Path, size: int) -> Path:
    block = os.urandom(CHUNK)
    with open(path, "wb") as out:
        left = size
        while left > 0:
            out.write(block[: min(CHUNK, left)])
            left -= CHUNK
    return path


def read_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            yield chunk


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median_rate(size: int, seconds: list[float]) -> float:
    return size / MB / statistics.median(seconds)


# -- servers ---------------------------------------------------------------------------


@contextlib.contextmanager
def moto_server(work: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(work / "moto.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/moto-api/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("moto did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(15)


def s3_client(endpoint: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


@contextlib.contextmanager
def bayou_server(work: Path, name: str, env: dict[str, str]) -> Iterator[tuple[str, str, int]]:
    """A server with examples/py-app deployed: (url, admin key, pid)."""
    data = work / f"data-{name}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        *BAYOU,
        "serve",
        "--data-dir",
        str(data),
        "--port",
        str(port),
        "--site-port",
        str(free_port()),
    ]
    with open(work / f"bayou-{name}.log", "ab") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )
    try:
        wait_ready(url, process, f"bayou ({name})")
        key = admin_key(data)
        deploy_app(ROOT / "examples" / "py-app", work, url, key)
        yield url, key, process.pid
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def mutation(http: httpx.Client, path: str, args: dict) -> object:
    answer = http.post("/api/mutation", json={"path": path, "args": args, "format": "json"})
    body = answer.json()
    if body.get("status") != "success":
        raise SystemExit(f"{path} failed: {body}")
    return body["value"]


def query(http: httpx.Client, path: str, args: dict) -> object:
    answer = http.post("/api/query", json={"path": path, "args": args, "format": "json"})
    return answer.json()["value"]


def upload_url(http: httpx.Client) -> str:
    return str(mutation(http, "files:generateUploadUrl", {}))


def bayou_upload(http: httpx.Client, path: Path, url: str | None = None) -> str:
    """POST the file to an upload URL (`url`, or a new one); its storage id."""
    answer = http.post(
        url or upload_url(http),
        content=read_chunks(path),
        headers={"Content-Type": "application/octet-stream"},
    )
    answer.raise_for_status()
    return str(answer.json()["storageId"])


def bayou_download(http: httpx.Client, file_url: str) -> int:
    received = 0
    with http.stream("GET", file_url) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(CHUNK):
            received += len(chunk)
    return received


# -- measurements --------------------------------------------------------------------------


def bench_copy(work: Path, path: Path, runs: int) -> Row:
    ups, downs = [], []
    for i in range(runs):
        target = work / f"copy-{i}"

        def copy(src: Path = path, dst: Path = target) -> None:
            shutil.copyfile(src, dst)
            with open(dst, "rb+") as f:
                os.fsync(f.fileno())

        ups.append(timed(copy))
        back = work / f"copy-back-{i}"
        downs.append(timed(lambda t=target, b=back: shutil.copyfile(t, b)))
        target.unlink()
        back.unlink()
    size = path.stat().st_size
    return Row(
        "file copy (+fsync) / copy", size // MB, median_rate(size, ups), median_rate(size, downs)
    )


def bench_s3_direct(endpoint: str, path: Path, runs: int) -> Row:
    s3 = s3_client(endpoint)
    s3.create_bucket(Bucket="direct")
    data = path.read_bytes()
    ups, downs = [], []
    for i in range(runs):
        key = f"direct-{i}"
        ups.append(timed(lambda k=key: s3.put_object(Bucket="direct", Key=k, Body=data)))
        downs.append(timed(lambda k=key: s3.get_object(Bucket="direct", Key=k)["Body"].read()))
        s3.delete_object(Bucket="direct", Key=key)
    return Row(
        "S3 direct PUT / GET (boto3)",
        len(data) // MB,
        median_rate(len(data), ups),
        median_rate(len(data), downs),
    )


def bench_bayou(name: str, url: str, path: Path, runs: int) -> Row:
    size = path.stat().st_size
    ups, downs = [], []
    with httpx.Client(base_url=url, timeout=600) as http:
        bayou_upload(http, path)  # warm up (modules loaded, connections open)
        for _ in range(runs):
            url = upload_url(http)  # not timed: the POST is the upload
            started = time.perf_counter()
            storage_id = bayou_upload(http, path, url)
            ups.append(time.perf_counter() - started)
            file_url = str(query(http, "files:url", {"storageId": storage_id}))
            downs.append(timed(lambda u=file_url: bayou_download(http, u)))
    return Row(f"Bayou, {name}", size // MB, median_rate(size, ups), median_rate(size, downs))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / MB
    return float("nan")


def bench_big(name: str, url: str, pid: int, path: Path) -> str:
    with httpx.Client(base_url=url, timeout=3600) as http:
        bayou_upload(http, make_file(path.with_name("warm"), MB))
        baseline = rss_mb(pid)
        peaks = {"upload": baseline, "download": baseline}
        phase = ["upload"]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peaks[phase[0]] = max(peaks[phase[0]], rss_mb(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            up = timed(lambda: phase.append(bayou_upload(http, path)))
            storage_id = phase.pop()
            phase[0] = "download"
            file_url = str(query(http, "files:url", {"storageId": storage_id}))
            down = timed(lambda: bayou_download(http, file_url))
        finally:
            stop.set()
            sampler.join()
    size = path.stat().st_size
    return (
        f"{size / MB:.0f} MB through Bayou ({name}): RSS before {baseline:.0f} MB, peak during "
        f"the upload {peaks['upload']:.0f} MB (+{peaks['upload'] - baseline:.0f}), during the "
        f"download {peaks['download']:.0f} MB (+{peaks['download'] - baseline:.0f}); "
        f"{size / MB / up:.0f} MB/s up, {size / MB / down:.0f} MB/s down"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,100", help="file sizes in MB (default: 1,100)")
    parser.add_argument("--runs", type=int, default=5, help="runs per size (median)")
    parser.add_argument("--big-mb", type=int, default=1000, help="size of the RSS run in MB")
    parser.add_argument("--big-s3", action="store_true", help="also the RSS run on S3 (moto)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    load_before = os.getloadavg()
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bayou-storage-bench-") as tmp:
        work = Path(tmp)
        files = {size: make_file(work / f"file-{size}mb", size * MB) for size in sizes}
        with moto_server(work) as endpoint:
            s3_client(endpoint).create_bucket(Bucket="bayou-files")
            s3_env = {
                "S3_STORAGE_FILES_BUCKET": "bayou-files",
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "S3_ENDPOINT_URL": endpoint,
                "AWS_S3_FORCE_PATH_STYLE": "true",
            }
            for size, path in files.items():
                runs = args.runs if size < 50 else max(2, args.runs // 2)
                rows.append(bench_copy(work, path, runs))
                rows.append(bench_s3_direct(endpoint, path, runs))
            with bayou_server(work, "local", {}) as (url, _, pid):
                for size, path in files.items():
                    runs = args.runs if size < 50 else max(2, args.runs // 2)
                    rows.append(bench_bayou("local directory", url, path, runs))
                big = make_file(work / "big", args.big_mb * MB)
                notes.append(bench_big("local directory", url, pid, big))
            with bayou_server(work, "s3", s3_env) as (url, _, pid):
                for size, path in files.items():
                    runs = args.runs if size < 50 else max(2, args.runs // 2)
                    rows.append(bench_bayou("S3 (moto)", url, path, runs))
                if args.big_s3:
                    notes.append(bench_big("S3 (moto)", url, pid, work / "big"))
    load_after = os.getloadavg()
    print(f"{'':34} {'size':>6} {'upload MB/s':>12} {'download MB/s':>14}")
    for size in sizes:
        base = {r.what: r for r in rows if r.size_mb == size}
        for row in rows:
            if row.size_mb != size:
                continue
            ref = base["file copy (+fsync) / copy"] if "local" in row.what else None
            ref = base["S3 direct PUT / GET (boto3)"] if "S3 (moto)" in row.what else ref
            ratio = (
                f"   ({row.up_mbs / ref.up_mbs:.2f} / {row.down_mbs / ref.down_mbs:.2f} of baseline)"
                if ref is not None
                else ""
            )
            print(f"{row.what:34} {size:>4}MB {row.up_mbs:>12.1f} {row.down_mbs:>14.1f}{ratio}")
    for note in notes:
        print(note)
    print(
        f"machine: {os.cpu_count()} cores; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after"
    )


if __name__ == "__main__":
    main()
