"""`bayou doctor` names what is wrong and how to fix it, and changes nothing."""

from __future__ import annotations

import http.server
import secrets
import threading
from pathlib import Path

import psycopg

from bayou.auth.credentials import load_or_create

from .conftest import BayouRunner, ServeFactory, free_port, key_of


def _files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def _line(output: str, check: str) -> str:
    return next(line for line in output.splitlines() if f"] {check}:" in line)


def test_doctor_accepts_a_fresh_key_and_explains_a_foreign_one(
    run_bayou: BayouRunner, serve: ServeFactory, tmp_path: Path
) -> None:
    server = serve(data_dir=tmp_path / "data")
    key = key_of(run_bayou("admin-key", "--data-dir", str(server.data_dir)))
    good = run_bayou("doctor", "--url", server.url, "--admin-key", key)
    assert good.returncode == 0, good.stdout
    assert "[ok  ] admin key: accepted" in good.stdout
    assert f"data directory: {server.data_dir} (from the server at {server.url})" in good.stdout
    assert "(in use by the running server)" in good.stdout

    load_or_create(tmp_path / "other", name="someone-else", secret_hex=None)
    foreign = key_of(run_bayou("admin-key", "--data-dir", "other"))
    bad = run_bayou("doctor", "--url", server.url, "--admin-key", foreign)
    assert bad.returncode == 1
    assert "[FAIL] admin key: refused (401)" in bad.stdout
    assert "someone-else" in bad.stdout  # the message names the instance mismatch


def test_doctor_reports_a_bad_secret_and_a_missing_server(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    (tmp_path / "d" / "credentials").mkdir(parents=True)
    (tmp_path / "d" / "credentials" / "instance_secret").write_text("xyz\n")
    result = run_bayou("doctor", "--data-dir", "d", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "[FAIL] credentials" in result.stdout
    assert "no Bayou answers at http://127.0.0.1:9" in result.stdout


def test_a_stopped_server_is_reported_as_not_running_not_as_something_else(
    run_bayou: BayouRunner, serve: ServeFactory, tmp_path: Path
) -> None:
    server = serve(data_dir=tmp_path / "data")
    assert server.stop() == 0
    result = run_bayou("doctor", "--data-dir", "data", "--url", server.url)
    line = _line(result.stdout, "server")
    assert f"nothing listens on 127.0.0.1:{server.port}: start it with `bayou serve`" in line
    assert "something else" not in result.stdout
    default_port = run_bayou("doctor", "--data-dir", "data", "--port", str(free_port()))
    assert "nothing listens on" in _line(default_port.stdout, "server")


def test_doctor_in_the_wrong_folder_creates_nothing_and_says_where_it_looked(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    for env in ({}, {"INSTANCE_SECRET": "0f" * 32}):
        result = run_bayou("doctor", "--url", f"http://127.0.0.1:{free_port()}", env=env, cwd=app)
        assert "[ok  ] credentials" not in result.stdout
        assert "No Bayou data directory found. Looked at:" in result.stdout
        assert "./bayou-data" in result.stdout and "running servers recorded in" in result.stdout
        assert "[ok  ]" in result.stdout  # the checks that can run still do
    empty = run_bayou("doctor", "--data-dir", str(tmp_path / "empty"), cwd=app)
    assert "credentials: none in" in empty.stdout
    assert "database: SQLite at" in empty.stdout and "not created yet" in empty.stdout
    assert list(app.iterdir()) == []
    assert not (tmp_path / "empty").exists()


def test_doctor_reads_a_running_servers_data_dir_without_writing_to_it(
    run_bayou: BayouRunner, serve: ServeFactory, tmp_path: Path
) -> None:
    server = serve(data_dir=tmp_path / "data")
    before = _files_under(server.data_dir)
    app = tmp_path / "app"
    app.mkdir()
    result = run_bayou("doctor", cwd=app)
    assert result.returncode == 0, result.stdout
    assert "[ok  ] credentials: instance 'convex-self-hosted'" in result.stdout
    assert _files_under(server.data_dir) == before
    assert list(app.iterdir()) == []


def test_convex_deployment_next_to_the_self_hosted_variables_fails(
    run_bayou: BayouRunner, serve: ServeFactory, tmp_path: Path
) -> None:
    server = serve(data_dir=tmp_path / "data")
    key = key_of(run_bayou("admin-key", "--url", server.url))
    app = tmp_path / "app"
    app.mkdir()
    (app / ".env.local").write_text(
        "# Deployment used by `npx convex dev`\nCONVEX_DEPLOYMENT=dev:happy-otter-123\n"
    )
    both = run_bayou(
        "doctor",
        env={"CONVEX_SELF_HOSTED_URL": server.url, "CONVEX_SELF_HOSTED_ADMIN_KEY": key},
        cwd=app,
    )
    assert both.returncode == 1
    line = _line(both.stdout, "npx convex target")
    assert line.startswith("[FAIL]")
    assert "CONVEX_DEPLOYMENT=dev:happy-otter-123 (in .env.local)" in line
    assert "Remove CONVEX_DEPLOYMENT from .env.local" in line

    instead = run_bayou("doctor", "--url", server.url, cwd=app)
    line = _line(instead.stdout, "npx convex target")
    assert line.startswith("[FAIL]") and "points `npx convex` at Convex Cloud" in line
    assert "CONVEX_SELF_HOSTED_URL and CONVEX_SELF_HOSTED_ADMIN_KEY are not set" in line

    (app / ".env.local").write_text(
        f"CONVEX_SELF_HOSTED_URL={server.url}\nCONVEX_SELF_HOSTED_ADMIN_KEY={key}\n"
    )
    fixed = run_bayou("doctor", cwd=app)
    assert fixed.returncode == 0, fixed.stdout
    assert f"[ok  ] npx convex target: {server.url} (from .env.local)" in fixed.stdout
    assert "[ok  ] admin key: accepted by the server (from .env.local)" in fixed.stdout


def test_a_deploy_key_in_the_environment_is_reported(run_bayou: BayouRunner) -> None:
    result = run_bayou("doctor", env={"CONVEX_DEPLOY_KEY": "prod:abc|xyz"})
    line = _line(result.stdout, "npx convex target")
    assert line.startswith("[FAIL]") and "CONVEX_DEPLOY_KEY is set (in the environment)" in line


def test_doctor_on_postgres_creates_no_database(
    run_bayou: BayouRunner, tmp_path: Path, postgres_url: str
) -> None:
    instance = f"bayou-doctor-{secrets.token_hex(4)}"
    load_or_create(tmp_path / "data", name=instance, secret_hex=None)
    env = {"POSTGRES_URL": postgres_url, "DO_NOT_REQUIRE_SSL": "true"}
    result = run_bayou("doctor", "--data-dir", "data", env=env)
    database = instance.replace("-", "_")
    assert f"[ok  ] database: PostgreSQL database `{database}`" in result.stdout
    assert "not created yet (`bayou serve` creates it)" in result.stdout
    with psycopg.connect(f"{postgres_url}/postgres") as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
    assert row is None


def test_another_program_on_the_port_is_named_as_such(run_bayou: BayouRunner) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = run_bayou("doctor", "--url", url)
    finally:
        server.shutdown()
    line = _line(result.stdout, "server")
    assert line.startswith("[FAIL]") and "something else answers there (HTTP 501" in line
