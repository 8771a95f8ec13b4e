"""Instance credentials: precedence, persistence across restarts, validation."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from bayou.auth.credentials import (
    DEFAULT_INSTANCE_NAME,
    InstanceCredentials,
    InvalidCredentials,
    _create,
    check_instance_name,
    load_or_create,
)

SECRET_HEX = "ab" * 32
OTHER_SECRET_HEX = "cd" * 32


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _files(data_dir: Path) -> tuple[Path, Path]:
    return data_dir / "credentials" / "instance_name", data_dir / "credentials" / "instance_secret"


def test_first_start_creates_a_default_name_and_a_random_secret(tmp_path: Path) -> None:
    credentials = load_or_create(tmp_path, name=None, secret_hex=None)
    assert credentials.name == DEFAULT_INSTANCE_NAME
    assert len(credentials.secret) == 32
    name_file, secret_file = _files(tmp_path)
    assert name_file.read_text() == f"{DEFAULT_INSTANCE_NAME}\n"
    assert secret_file.read_text() == f"{credentials.secret_hex}\n"


def test_a_restart_keeps_the_name_and_secret(tmp_path: Path) -> None:
    first = load_or_create(tmp_path, name=None, secret_hex=None)
    assert load_or_create(tmp_path, name=None, secret_hex=None) == first
    assert load_or_create(tmp_path / ".." / tmp_path.name, name=None, secret_hex=None) == first


def test_two_fresh_data_directories_get_different_secrets(tmp_path: Path) -> None:
    first = load_or_create(tmp_path / "a", name=None, secret_hex=None)
    second = load_or_create(tmp_path / "b", name=None, secret_hex=None)
    assert first.secret != second.secret


def test_the_secret_file_is_private_and_the_directory_closed(tmp_path: Path) -> None:
    load_or_create(tmp_path, name=None, secret_hex=None)
    _, secret_file = _files(tmp_path)
    assert _mode(secret_file) == 0o600
    assert _mode(secret_file.parent) == 0o700


def test_loose_permissions_left_by_an_entrypoint_script_are_tightened(tmp_path: Path) -> None:
    _, secret_file = _files(tmp_path)
    secret_file.parent.mkdir(parents=True)
    os.chmod(secret_file.parent, 0o755)
    secret_file.write_text(SECRET_HEX + "\n")
    os.chmod(secret_file, 0o644)
    load_or_create(tmp_path, name=None, secret_hex=None)
    assert _mode(secret_file) == 0o600
    assert _mode(secret_file.parent) == 0o700


def test_explicit_values_are_used_and_stored_on_first_start(tmp_path: Path) -> None:
    credentials = load_or_create(tmp_path, name="my-app", secret_hex=SECRET_HEX)
    assert credentials == InstanceCredentials(name="my-app", secret=bytes.fromhex(SECRET_HEX))
    assert load_or_create(tmp_path, name=None, secret_hex=None) == credentials


def test_files_written_by_convex_are_read(tmp_path: Path) -> None:
    name_file, secret_file = _files(tmp_path)
    name_file.parent.mkdir(parents=True)
    name_file.write_text("happy-otter-123\n")
    secret_file.write_text(SECRET_HEX.upper() + "\n")
    credentials = load_or_create(tmp_path, name=None, secret_hex=None)
    assert credentials == InstanceCredentials("happy-otter-123", bytes.fromhex(SECRET_HEX))


def test_an_explicit_secret_that_differs_wins_for_this_run_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_or_create(tmp_path, name=None, secret_hex=SECRET_HEX)
    with caplog.at_level(logging.WARNING, logger="bayou.auth.credentials"):
        credentials = load_or_create(tmp_path, name=None, secret_hex=OTHER_SECRET_HEX)
    assert credentials.secret_hex == OTHER_SECRET_HEX
    assert _files(tmp_path)[1].read_text() == SECRET_HEX + "\n"
    assert "minted under the stored secret are refused" in caplog.text
    assert OTHER_SECRET_HEX not in caplog.text and SECRET_HEX not in caplog.text


def test_an_explicit_name_that_differs_wins_for_this_run_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_or_create(tmp_path, name="first-name", secret_hex=None)
    with caplog.at_level(logging.WARNING, logger="bayou.auth.credentials"):
        credentials = load_or_create(tmp_path, name="second-name", secret_hex=None)
    assert credentials.name == "second-name"
    assert _files(tmp_path)[0].read_text() == "first-name\n"
    assert "'first-name'" in caplog.text and "'second-name'" in caplog.text


def test_matching_explicit_values_do_not_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_or_create(tmp_path, name="my-app", secret_hex=SECRET_HEX)
    with caplog.at_level(logging.WARNING, logger="bayou.auth.credentials"):
        load_or_create(tmp_path, name="my-app", secret_hex=SECRET_HEX.upper())
    assert caplog.text == ""


@pytest.mark.parametrize(
    ("secret_hex", "problem"),
    [
        ("abc", "3 characters long"),
        ("zz" * 32, "not hexadecimal"),
        ("", "empty"),
        ("ab" * 33, "66"),
    ],
)
def test_a_bad_secret_is_refused_with_what_is_wrong_before_anything_is_written(
    tmp_path: Path, secret_hex: str, problem: str
) -> None:
    with pytest.raises(InvalidCredentials, match="64 hexadecimal") as caught:
        load_or_create(tmp_path / "data", name=None, secret_hex=secret_hex)
    assert problem in str(caught.value)
    assert "openssl rand -hex 32" in str(caught.value)
    assert not (tmp_path / "data").exists()


def test_a_bad_stored_secret_is_refused_naming_the_file(tmp_path: Path) -> None:
    _, secret_file = _files(tmp_path)
    secret_file.parent.mkdir(parents=True)
    secret_file.write_text("not-a-secret\n")
    with pytest.raises(InvalidCredentials, match=str(secret_file)):
        load_or_create(tmp_path, name=None, secret_hex=None)
    assert load_or_create(tmp_path, name=None, secret_hex=SECRET_HEX).secret_hex == SECRET_HEX


@pytest.mark.parametrize(
    "name", ["", "My-App", "my_app", "-app", "a|b", "prod:app", "a" * 64, "app name"]
)
def test_invalid_instance_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidCredentials, match="invalid instance name"):
        check_instance_name(name)


@pytest.mark.parametrize("name", ["convex-self-hosted", "happy-otter-123", "a", "9" * 63])
def test_valid_instance_names_are_accepted(name: str) -> None:
    assert check_instance_name(name) == name


def test_a_bad_stored_name_is_refused_naming_the_file(tmp_path: Path) -> None:
    name_file, _ = _files(tmp_path)
    name_file.parent.mkdir(parents=True)
    name_file.write_text("Bad Name\n")
    with pytest.raises(InvalidCredentials, match=str(name_file)):
        load_or_create(tmp_path, name=None, secret_hex=None)


def test_when_two_processes_create_the_secret_the_first_writer_wins(tmp_path: Path) -> None:
    path = tmp_path / "instance_secret"
    assert _create(path, "first", mode=0o600) == "first"
    assert _create(path, "second", mode=0o600) == "first"
    assert path.read_text() == "first\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["instance_secret"]


def test_the_secret_is_not_in_the_repr() -> None:
    shown = repr(InstanceCredentials("a", bytes.fromhex(SECRET_HEX)))
    assert "secret" not in shown and "xab" not in shown
