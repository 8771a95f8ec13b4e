"""`bayou admin-key`, run as users run it: the installed console script, from any folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bayou.auth.admin_key import check_admin_key
from bayou.auth.credentials import load_or_create

from .conftest import BayouRunner, ServeFactory, key_of

SECRET_HEX = "0f" * 32
OTHER_SECRET_HEX = "a1" * 32


def _server_data(path: Path, **kwargs: str) -> Path:
    """A data directory as `bayou serve` leaves it after its first start."""
    load_or_create(path, name=kwargs.get("name"), secret_hex=kwargs.get("secret_hex"))
    return path


def _files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_two_runs_mint_different_keys_that_both_verify(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    data = _server_data(tmp_path / "data")
    keys = [key_of(run_bayou("admin-key", "--data-dir", "data")) for _ in range(2)]
    assert keys[0] != keys[1]
    credentials = load_or_create(data, name=None, secret_hex=None)
    for key in keys:
        identity = check_admin_key(key, credentials.name, [credentials.secret])
        assert not identity.read_only and not identity.is_system


def test_stdout_holds_only_the_key_and_stderr_the_explanation(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    _server_data(tmp_path / "data")
    result = run_bayou("admin-key", "--data-dir", "data")
    assert result.stdout.count("\n") == 1
    assert key_of(result).startswith("convex-self-hosted|01")
    assert "Admin key for instance 'convex-self-hosted'" in result.stderr
    assert f"{tmp_path / 'data'} (from --data-dir)" in result.stderr


def test_read_only_and_system_keys(run_bayou: BayouRunner, tmp_path: Path) -> None:
    data = _server_data(tmp_path / "data")
    read_only = run_bayou("admin-key", "--data-dir", "data", "--read-only")
    system = run_bayou("admin-key", "--data-dir", "data", "--system-key")
    credentials = load_or_create(data, name=None, secret_hex=None)
    secrets = [credentials.secret]
    assert check_admin_key(key_of(read_only), credentials.name, secrets).read_only
    assert check_admin_key(key_of(system), credentials.name, secrets).is_system
    assert "Read-only admin key" in read_only.stderr and "System key" in system.stderr


def test_the_environment_chooses_the_data_dir(run_bayou: BayouRunner, tmp_path: Path) -> None:
    data = _server_data(tmp_path / "env-data", name="my-app")
    result = run_bayou("admin-key", env={"DATA_DIR": str(data)})
    assert check_admin_key(
        key_of(result), "my-app", [load_or_create(data, name=None, secret_hex=None).secret]
    )
    assert "(from DATA_DIR)" in result.stderr


def test_flags_override_the_environment(run_bayou: BayouRunner, tmp_path: Path) -> None:
    _server_data(tmp_path / "flag-data", name="flag-name")
    result = run_bayou(
        "admin-key",
        "--data-dir",
        "flag-data",
        env={"DATA_DIR": str(tmp_path / "env-data")},
    )
    assert key_of(result).startswith("flag-name|")
    assert not (tmp_path / "env-data").exists()


def test_bayou_data_in_the_current_directory_is_used(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    data = _server_data(tmp_path / "bayou-data")
    result = run_bayou("admin-key")
    credentials = load_or_create(data, name=None, secret_hex=None)
    assert check_admin_key(key_of(result), credentials.name, [credentials.secret])
    assert "(from ./bayou-data)" in result.stderr


def test_an_explicit_secret_without_a_data_dir_mints_and_writes_nothing(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    result = run_bayou(
        "admin-key", env={"INSTANCE_SECRET": SECRET_HEX, "INSTANCE_NAME": "my-app"}, cwd=tmp_path
    )
    assert check_admin_key(key_of(result), "my-app", [bytes.fromhex(SECRET_HEX)])
    assert _files_under(tmp_path) == ["state"]


def test_a_differing_explicit_secret_warns_and_leaves_the_stored_one(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    stored = load_or_create(tmp_path / "data", name=None, secret_hex=None)
    result = run_bayou("admin-key", "--data-dir", "data", env={"INSTANCE_SECRET": SECRET_HEX})
    assert "WARNING" in result.stderr and "refused" in result.stderr
    assert check_admin_key(key_of(result), stored.name, [bytes.fromhex(SECRET_HEX)])
    assert load_or_create(tmp_path / "data", name=None, secret_hex=None) == stored


def test_a_bad_secret_fails_with_a_message_and_no_key(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    _server_data(tmp_path / "data")
    result = run_bayou("admin-key", "--data-dir", "data", env={"INSTANCE_SECRET": "1234"})
    assert result.returncode == 1
    assert result.stdout == ""
    assert "INSTANCE_SECRET must be 64 hexadecimal characters" in result.stderr


def test_a_system_key_cannot_be_read_only(run_bayou: BayouRunner, tmp_path: Path) -> None:
    _server_data(tmp_path / "data")
    result = run_bayou("admin-key", "--data-dir", "data", "--system-key", "--read-only")
    assert result.returncode == 1 and result.stdout == ""
    assert "--system-key cannot be combined" in result.stderr


# -- the wrong folder: nothing is created, and the message says where it looked --------------


def test_in_a_folder_without_a_server_it_creates_nothing_and_says_where_it_looked(
    run_bayou: BayouRunner, tmp_path: Path, state_home: Path
) -> None:
    app = tmp_path / "my-app"
    app.mkdir()
    result = run_bayou("admin-key", cwd=app)
    assert result.returncode == 1 and result.stdout == ""
    assert not (app / "bayou-data").exists() and list(app.iterdir()) == []
    message = result.stderr
    assert "No Bayou data directory found. Looked at:" in message
    assert "--data-dir / DATA_DIR: not set" in message
    assert f"./bayou-data ({app / 'bayou-data'}): does not exist" in message
    assert f"running servers recorded in {state_home / 'bayou' / 'servers'}: none" in message
    assert "bayou admin-key --data-dir /path/to/bayou-data" in message


def test_a_data_dir_without_credentials_is_refused_not_filled(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    for args in (("--data-dir", "empty"), ("--data-dir", "missing")):
        result = run_bayou("admin-key", *args)
        assert result.returncode == 1 and result.stdout == ""
        assert "No instance credentials in" in result.stderr
        assert "this command creates none" in result.stderr
        assert "No running Bayou server is recorded" in result.stderr
    assert list((tmp_path / "empty").iterdir()) == []
    assert not (tmp_path / "missing").exists()


# -- finding the running server from another folder ------------------------------------------


def test_from_another_folder_it_finds_the_only_running_server(
    run_bayou: BayouRunner, serve: ServeFactory, tmp_path: Path
) -> None:
    server = serve(data_dir=tmp_path / "srv" / "bayou-data", cwd=tmp_path)
    app = tmp_path / "my-app"
    app.mkdir()
    result = run_bayou("admin-key", cwd=app)
    credentials = load_or_create(server.data_dir, name=None, secret_hex=None)
    assert check_admin_key(key_of(result), credentials.name, [credentials.secret])
    assert f"the only running server, {server.url}" in result.stderr
    assert list(app.iterdir()) == []


def test_the_url_chooses_among_running_servers(
    run_bayou: BayouRunner, serve: ServeFactory, tmp_path: Path
) -> None:
    first = serve(data_dir=tmp_path / "one", env={"INSTANCE_NAME": "first-app"})
    second = serve(data_dir=tmp_path / "two", env={"INSTANCE_NAME": "second-app"})
    ambiguous = run_bayou("admin-key")
    assert ambiguous.returncode == 1
    assert "Several Bayou servers are running" in ambiguous.stderr
    assert f"bayou admin-key --url {first.url}" in ambiguous.stderr
    assert f"bayou admin-key --url {second.url}" in ambiguous.stderr

    by_flag = run_bayou("admin-key", "--url", second.url)
    assert key_of(by_flag).startswith("second-app|")
    by_env = run_bayou("admin-key", env={"CONVEX_SELF_HOSTED_URL": first.url})
    assert key_of(by_env).startswith("first-app|")
    (tmp_path / ".env.local").write_text(f"CONVEX_SELF_HOSTED_URL={second.url}\n")
    by_env_file = run_bayou("admin-key")
    assert key_of(by_env_file).startswith("second-app|")


def test_a_server_started_with_another_secret_gets_no_refused_key(
    run_bayou: BayouRunner, serve: ServeFactory, tmp_path: Path
) -> None:
    _server_data(tmp_path / "data", secret_hex=SECRET_HEX)
    server = serve(data_dir=tmp_path / "data", env={"INSTANCE_SECRET": OTHER_SECRET_HEX})
    result = run_bayou("admin-key", "--url", server.url)
    assert result.returncode == 1 and result.stdout == ""
    assert "runs with another instance secret" in result.stderr
    assert "Give this command the same INSTANCE_SECRET" in result.stderr
    matching = run_bayou(
        "admin-key", "--url", server.url, env={"INSTANCE_SECRET": OTHER_SECRET_HEX}
    )
    assert check_admin_key(
        key_of(matching), "convex-self-hosted", [bytes.fromhex(OTHER_SECRET_HEX)]
    )


def test_the_running_server_record_holds_no_secret_and_goes_away_on_stop(
    serve: ServeFactory, tmp_path: Path, state_home: Path
) -> None:
    server = serve(data_dir=tmp_path / "data")
    record_file = state_home / "bayou" / "servers" / f"{server.port}.json"
    record = json.loads(record_file.read_text())
    assert record["data_dir"] == str(server.data_dir) and record["url"] == server.url
    assert record["pid"] == server.process.pid
    assert oct(record_file.stat().st_mode & 0o777) == "0o600"
    secret = load_or_create(server.data_dir, name=None, secret_hex=None).secret_hex
    assert secret not in record_file.read_text()
    assert server.stop() == 0
    assert not record_file.exists()
    assert os.listdir(record_file.parent) == []
