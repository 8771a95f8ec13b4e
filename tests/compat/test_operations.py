"""Day-two operations against real `bayou serve` processes: `/metrics` scraped and parsed
with `prometheus_client.parser` after a workload, `/health`, `/ready`, `/version`,
`bayou --version`, and backups — `bayou backup now | list`, `bayou restore` (compared
document by document and file by file), scheduled backups with retention.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bayou import __version__
from tests.compat.conftest import BayouServer, app_copy, eventually, run_cli, start_server
from tests.compat.test_snapshots import APP, Deployment

pytestmark = pytest.mark.compat

BAYOU = [sys.executable, "-c", "from bayou.cli.main import app; app()"]


@pytest.fixture(scope="module")
def servers() -> Iterator[list[BayouServer]]:
    started: list[BayouServer] = []
    yield started
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def dep(
    servers: list[BayouServer], node: str, js_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    base = tmp_path_factory.mktemp("ops")
    server = start_server(base / "data")
    servers.append(server)
    deployment = Deployment(server, app_copy(APP, base, server, node, js_dir).deploy())
    deployment.call("mutation", "data:seed")
    deployment.upload(b"backed up bytes", "text/plain")
    return deployment


def bayou(server: BayouServer, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_cli("bayou", BAYOU, args, cwd=server.data_dir.parent, server=server, check=check)


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{url}/metrics").text
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_count_the_calls_that_ran(dep: Deployment) -> None:
    before = _samples(dep.server.url)
    for n in range(3):
        dep.call("mutation", "data:addStrict", {"n": float(100 + n)})
    for _ in range(2):
        dep.call("query", "data:dump")
    failed = httpx.post(
        f"{dep.server.url}/api/mutation",
        json={"path": "data:addStrict", "args": {"n": "not a number"}},
    ).json()
    assert failed["status"] == "error"
    after = _samples(dep.server.url)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    ok = {"function": "data:addStrict", "kind": "mutation"}
    assert delta("bayou_function_calls_total", **ok, status="success") == 3
    assert delta("bayou_function_calls_total", **ok, status="error") == 1
    assert delta("bayou_function_errors_total", **ok) == 1
    assert delta("bayou_function_duration_seconds_count", **ok) == 4
    dump = {"function": "data:dump", "kind": "query"}
    assert delta("bayou_function_calls_total", **dump, status="success") == 2
    assert delta("bayou_commits_total") >= 3
    assert delta("bayou_commit_batch_size_count") >= 1
    assert delta("bayou_commit_write_seconds_count") >= 1
    assert ("bayou_sync_sessions", ()) in after
    assert ("bayou_occ_conflicts_total", ()) in after
    assert after[("bayou_storage_files", ())] == 1
    assert after[("bayou_storage_bytes", ())] == len(b"backed up bytes")
    assert after[("bayou_scheduler_lag_seconds", ())] == 0


def test_health_ready_and_version(dep: Deployment) -> None:
    url = dep.server.url
    assert httpx.get(f"{url}/health").text == "ok"
    ready = httpx.get(f"{url}/ready")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "database": "ok", "storage": "ok"}
    assert __version__ in httpx.get(f"{url}/version").text
    out = bayou(dep.server, "--version")
    assert out.stdout.strip() == f"bayou {__version__}"


def test_the_metrics_endpoint_can_be_disabled(servers: list[BayouServer], tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", env={"DISABLE_METRICS_ENDPOINT": "true"})
    servers.append(server)
    response = httpx.get(f"{server.url}/metrics")
    assert response.status_code == 404
    assert response.json()["code"] == "MetricsDisabled"


def _everything(server: BayouServer) -> dict[str, Any]:
    def table(name: str) -> Any:
        response = httpx.post(
            f"{server.url}/api/query",
            json={
                "path": "_system/cli/tableData",
                "args": {"table": name},
                "format": "convex_encoded_json",
            },
            headers={"Authorization": f"Convex {server.admin_key}"},
        ).json()
        return response["value"]["page"]

    out = {name: table(name) for name in ("values", "refs", "strict", "_storage")}
    out["bytes"] = {
        f["_id"]: httpx.get(
            f"{server.url}/api/storage/{__import__('uuid').UUID(bytes=_internal(f['_id']))}"
        ).content
        for f in out["_storage"]
    }
    return out


def _internal(storage_id: str) -> bytes:
    from bayou.values import ids

    return ids.decode_id(storage_id)[1]


def test_backup_now_list_and_restore(
    dep: Deployment, servers: list[BayouServer], tmp_path: Path
) -> None:
    made = bayou(dep.server, "backup", "now")
    path = Path(made.stdout.strip().splitlines()[-1])
    assert path.is_file() and path.parent == dep.server.data_dir / "backups"
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist()[0] == "README.md"
        assert any(n.startswith("_storage/") for n in zf.namelist())
    listed = bayou(dep.server, "backup", "list").stdout
    assert str(path) in listed

    fresh = start_server(tmp_path / "fresh")
    servers.append(fresh)
    bayou(fresh, "restore", str(path))
    original = _everything(dep.server)
    assert _everything(fresh) == original
    assert original["bytes"] and b"backed up bytes" in original["bytes"].values()
    # Not into a deployment that has data, unless asked to replace it.
    refused = bayou(fresh, "restore", str(path), check=False)
    assert refused.returncode == 1
    assert "already exists" in refused.stderr
    bayou(fresh, "restore", "--replace-all", "-y", str(path))
    assert _everything(fresh) == original


def test_scheduled_backups_fire_and_keep_the_newest(
    servers: list[BayouServer], tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    env = {
        "BAYOU_BACKUP_SCHEDULE": "* * * * * *",  # every second (cron with seconds)
        "BAYOU_BACKUP_DIR": str(backups),
        "BAYOU_BACKUP_KEEP": "2",
    }
    server = start_server(tmp_path / "data", env=env)
    servers.append(server)

    def names() -> list[str]:
        return sorted(p.name for p in backups.glob("backup-*.zip"))

    first = eventually(lambda: names() if len(names()) >= 2 else None, timeout=30)
    # A newer backup came, and the oldest went (between a write and its pruning a third
    # file may show for a moment).
    newer = eventually(
        lambda: (
            now
            if (now := names()) and now[-1] > first[-1] and len(now) <= 2 and first[0] not in now
            else None
        ),
        timeout=30,
    )
    # The newest one (an older one may be pruned while this reads it).
    with zipfile.ZipFile(backups / newer[-1]) as zf:
        assert zf.namelist()[:2] == ["README.md", "_tables/documents.jsonl"]


def test_backups_can_go_to_an_s3_bucket(servers: list[BayouServer], tmp_path: Path) -> None:
    from tests.blobs.moto_server import MotoServer

    with MotoServer.start(tmp_path) as moto:
        bucket = moto.create_bucket("backups")
        env = {k: v for k, v in moto.env(bucket).items() if k != "S3_STORAGE_FILES_BUCKET"}
        server = start_server(tmp_path / "data", env={**env, "BAYOU_BACKUP_S3_BUCKET": bucket})
        try:
            location = bayou(server, "backup", "now").stdout.strip().splitlines()[-1]
            assert location.startswith(f"s3://{bucket}/backup-")
            assert moto.keys(bucket) == [location.rsplit("/", 1)[1]]
            assert location in bayou(server, "backup", "list").stdout
            assert not list((tmp_path / "data" / "backups").glob("*.zip"))  # uploaded, not kept
        finally:
            server.stop()
