"""Packaging: the license pyproject names, the changelog, the version everywhere, the
Dockerfile and the compose files (checked structurally here; built and started only where
Docker is available)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import bayou
from bayou.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.postgres.yml")
# Variables of the images next to Bayou's (PostgreSQL, MinIO).
OTHER_VARIABLES = {
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
}


def test_the_license_file_is_the_license_pyproject_names() -> None:
    assert PYPROJECT["project"]["license"]["text"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_the_version_is_the_same_everywhere() -> None:
    version = PYPROJECT["project"]["version"]
    assert bayou.__version__ == version
    out = subprocess.run(
        [sys.executable, "-m", "bayou.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"bayou {version}"
    assert f"## [{version}]" in (ROOT / "CHANGELOG.md").read_text()


def test_the_dockerfile_is_slim_non_root_and_checks_its_health() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim$", text, re.M)
    assert re.search(r"^USER bayou$", text, re.M)
    assert 'VOLUME ["/data"]' in text and "ENV DATA_DIR=/data" in text
    assert "HEALTHCHECK" in text and "/version" in text
    assert '".[node]"' in text  # Node.js for TypeScript functions


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_the_compose_files_are_valid(name: str) -> None:
    compose = yaml.safe_load((ROOT / name).read_text())
    assert set(compose) <= {"services", "volumes"}
    services = compose["services"]
    assert isinstance(services, dict) and "bayou" in services
    known = {s.env for s in SETTINGS if s.env} | OTHER_VARIABLES
    for service_name, service in services.items():
        assert isinstance(service, dict), service_name
        assert "image" in service or "build" in service, service_name
        for entry in service.get("environment", []):
            assert isinstance(entry, str) and "=" in entry, entry
            assert entry.split("=", 1)[0] in known, f"{service_name}: unknown variable {entry}"
        for port in service.get("ports", []):
            assert re.fullmatch(r"\$\{\w+:-\d+\}:\d+|\d+:\d+", port), port
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in (compose.get("volumes") or {}), volume
        depends = service.get("depends_on", [])
        assert set(depends) <= set(services), service_name
    bayou_service = services["bayou"]
    assert "bayou-data:/data" in bayou_service["volumes"]
    assert {"3210", "3211"} <= {p.rsplit(":", 1)[1] for p in bayou_service["ports"]}
    assert "/version" in " ".join(bayou_service["healthcheck"]["test"])


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "info"], capture_output=True).returncode != 0,
    reason="Docker is not available",
)
def test_the_image_builds_and_answers_on_version(tmp_path: Path) -> None:  # pragma: no cover
    tag = "bayou-test:latest"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=1800)
    container = subprocess.run(
        ["docker", "run", "-d", "-p", "127.0.0.1::3210", tag],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        import time
        import urllib.request

        port = (
            subprocess.run(
                ["docker", "port", container, "3210"], capture_output=True, text=True, check=True
            )
            .stdout.strip()
            .rsplit(":", 1)[1]
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=2) as r:
                    assert bayou.__version__ in r.read().decode()
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
