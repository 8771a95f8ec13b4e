"""`bayou admin-key`, run as users run it: the installed console script."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from bayou.auth.admin_key import check_admin_key
from bayou.auth.credentials import load_or_create

BayouRunner = Callable[..., subprocess.CompletedProcess[str]]  # the run_bayou fixture

SECRET_HEX = "0f" * 32


def _key(stdout: str) -> str:
    return stdout.rstrip("\n").splitlines()[-1]


def test_two_runs_mint_different_keys_that_both_verify(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    first = run_bayou("admin-key", "--data-dir", "data")
    second = run_bayou("admin-key", "--data-dir", "data")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    keys = [_key(first.stdout), _key(second.stdout)]
    assert keys[0] != keys[1]
    credentials = load_or_create(tmp_path / "data", name=None, secret_hex=None)
    for key in keys:
        identity = check_admin_key(key, credentials.name, [credentials.secret])
        assert not identity.read_only and not identity.is_system


def test_stdout_holds_only_the_key_and_stderr_the_explanation(run_bayou: BayouRunner) -> None:
    result = run_bayou("admin-key", "--data-dir", "data")
    assert result.stdout.count("\n") == 1
    assert _key(result.stdout).startswith("convex-self-hosted|01")
    assert "stored a new random instance secret" in result.stderr
    assert "Admin key for instance 'convex-self-hosted'" in result.stderr
    again = run_bayou("admin-key", "--data-dir", "data")
    assert "stored a new" not in again.stderr


def test_read_only_and_system_keys(run_bayou: BayouRunner, tmp_path: Path) -> None:
    read_only = run_bayou("admin-key", "--data-dir", "data", "--read-only")
    system = run_bayou("admin-key", "--data-dir", "data", "--system-key")
    credentials = load_or_create(tmp_path / "data", name=None, secret_hex=None)
    secrets = [credentials.secret]
    assert check_admin_key(_key(read_only.stdout), credentials.name, secrets).read_only
    assert check_admin_key(_key(system.stdout), credentials.name, secrets).is_system
    assert "Read-only admin key" in read_only.stderr and "System key" in system.stderr


def test_environment_variables_choose_data_dir_name_and_secret(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    env = {"DATA_DIR": str(tmp_path / "env-data"), "INSTANCE_NAME": "my-app"}
    result = run_bayou("admin-key", env={**env, "INSTANCE_SECRET": SECRET_HEX})
    assert result.returncode == 0, result.stderr
    identity = check_admin_key(_key(result.stdout), "my-app", [bytes.fromhex(SECRET_HEX)])
    assert identity.instance_name == "my-app"
    stored = load_or_create(tmp_path / "env-data", name=None, secret_hex=None)
    assert (stored.name, stored.secret_hex) == ("my-app", SECRET_HEX)


def test_flags_override_the_environment(run_bayou: BayouRunner, tmp_path: Path) -> None:
    result = run_bayou(
        "admin-key",
        "--data-dir",
        "flag-data",
        "--instance-name",
        "flag-name",
        env={"DATA_DIR": str(tmp_path / "env-data"), "INSTANCE_NAME": "env-name"},
    )
    assert _key(result.stdout).startswith("flag-name|")
    assert (tmp_path / "flag-data" / "credentials").is_dir()
    assert not (tmp_path / "env-data").exists()


def test_the_default_data_dir_is_bayou_data_in_the_current_directory(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    result = run_bayou("admin-key")
    credentials = load_or_create(tmp_path / "bayou-data", name=None, secret_hex=None)
    assert check_admin_key(_key(result.stdout), credentials.name, [credentials.secret])


def test_a_differing_explicit_secret_warns_and_leaves_the_stored_one(
    run_bayou: BayouRunner, tmp_path: Path
) -> None:
    run_bayou("admin-key", "--data-dir", "data")
    stored = load_or_create(tmp_path / "data", name=None, secret_hex=None)
    result = run_bayou("admin-key", "--data-dir", "data", env={"INSTANCE_SECRET": SECRET_HEX})
    assert result.returncode == 0
    assert "WARNING" in result.stderr and "refused" in result.stderr
    assert check_admin_key(_key(result.stdout), stored.name, [bytes.fromhex(SECRET_HEX)])
    assert load_or_create(tmp_path / "data", name=None, secret_hex=None) == stored


def test_a_bad_secret_fails_with_a_message_and_no_key(run_bayou: BayouRunner) -> None:
    result = run_bayou("admin-key", "--data-dir", "data", env={"INSTANCE_SECRET": "1234"})
    assert result.returncode == 1
    assert result.stdout == ""
    assert "INSTANCE_SECRET must be 64 hexadecimal characters" in result.stderr


def test_a_system_key_cannot_be_read_only(run_bayou: BayouRunner) -> None:
    result = run_bayou("admin-key", "--data-dir", "data", "--system-key", "--read-only")
    assert result.returncode == 1 and result.stdout == ""
    assert "--system-key cannot be combined" in result.stderr
