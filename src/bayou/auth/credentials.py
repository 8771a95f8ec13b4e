"""The instance name and secret, kept in the data directory so restarts keep admin keys valid.

Every admin key is sealed under the instance secret and names the instance, so both must
survive restarts. Like Convex's Docker entrypoint (`read_credentials.sh`), each value is
taken from, in order:

1. the explicit value (`--instance-name/--instance-secret`, `INSTANCE_NAME/INSTANCE_SECRET`),
2. the file `<data_dir>/credentials/instance_name` or `instance_secret`,
3. the default: `convex-self-hosted`, or a new random 32-byte secret,

and a value that came from 1 or 3 is written to its file when the file does not exist yet
(the secret file with mode 0600, the directory 0700). The files hold one line each, as
Convex writes them, so a data directory moves between Convex and Bayou with its keys.

Unlike the entrypoint script, Bayou never overwrites a stored value. When an explicit
value differs from the stored one, the explicit value is used for this run only and a
warning (logger `bayou.auth.credentials`) says what follows: keys minted under the other
value are refused while this one is in use, and anything that reads the data directory
without the explicit value (`bayou admin-key --data-dir DIR`, the next restart) still
uses the stored value. Overwriting would silently and irrecoverably invalidate every key
of a running deployment whenever someone mints a key with a mistyped secret; to change
the stored value deliberately, edit or delete the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from bayou.auth.keys import SECRET_LEN

DEFAULT_INSTANCE_NAME = "convex-self-hosted"
CREDENTIALS_DIRNAME = "credentials"
NAME_FILENAME = "instance_name"
SECRET_FILENAME = "instance_secret"

_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_SECRET_PATTERN = re.compile(r"[0-9a-fA-F]{64}")
_logger = logging.getLogger(__name__)


class InvalidCredentials(ValueError):
    """An instance name or secret that cannot be used; the message says how to fix it."""


class MissingCredentials(LookupError):
    """A data directory that holds no instance secret (no server has started on it)."""

    def __init__(self, secret_file: Path) -> None:
        super().__init__(f"no instance secret in {secret_file}")
        self.secret_file = secret_file


@dataclass(frozen=True)
class InstanceCredentials:
    """The identity of one deployment: its name and its 32-byte root secret."""

    name: str
    secret: bytes = field(repr=False)

    @property
    def secret_hex(self) -> str:
        """The secret as Convex writes it: 64 lowercase hex characters."""
        return self.secret.hex()

    @property
    def fingerprint(self) -> str:
        """16 hex characters that tell secrets apart without revealing them (a running
        server records it, so `bayou admin-key` can tell whether it holds the same one)."""
        return hashlib.sha256(b"bayou instance secret fingerprint\0" + self.secret).hexdigest()[:16]


def check_instance_name(name: str) -> str:
    """Return `name` if it is a valid instance name, else raise `InvalidCredentials`.

    Convex itself does not validate names, but the name ends up in places with rules:
    admin keys (`name|…`, where `|` and `:` would break parsing), the PostgreSQL database
    name (`-` becomes `_`, at most 63 bytes; `a-b` and `a_b` would share a database) and
    storage prefixes. Names like Convex's own (`convex-self-hosted`, `happy-otter-123`)
    satisfy all of them: 1–63 lowercase letters, digits and `-`, not starting with `-`.
    """
    if not _NAME_PATTERN.fullmatch(name):
        raise InvalidCredentials(
            f"invalid instance name {name!r}: use 1-63 lowercase letters, digits and '-', "
            f"starting with a letter or digit (e.g. {DEFAULT_INSTANCE_NAME!r})"
        )
    return name


def parse_instance_secret(secret_hex: str, *, source: str = "INSTANCE_SECRET") -> bytes:
    """The 32 bytes of a hex secret; `InvalidCredentials` naming `source` otherwise."""
    text = secret_hex.strip()
    if not _SECRET_PATTERN.fullmatch(text):
        raise InvalidCredentials(
            f"{source} must be 64 hexadecimal characters (32 bytes), but it is "
            f"{_describe_bad_secret(text)}; generate one with `openssl rand -hex 32`"
        )
    return bytes.fromhex(text)


def load_or_create(
    data_dir: Path, *, name: str | None, secret_hex: str | None
) -> InstanceCredentials:
    """The instance credentials for `data_dir`, created and stored on first use.

    `name` and `secret_hex` are explicit values (flags or environment) or None. See the
    module docstring for the precedence and for what happens when an explicit value
    differs from the stored one.
    """
    explicit_name = check_instance_name(name) if name is not None else None
    explicit_secret = parse_instance_secret(secret_hex) if secret_hex is not None else None
    directory = _credentials_dir(Path(data_dir))

    name_file, secret_file = directory / NAME_FILENAME, directory / SECRET_FILENAME
    stored_name = _read(name_file)
    if stored_name is None:
        stored_name = _create(name_file, explicit_name or DEFAULT_INSTANCE_NAME, mode=0o644)
    stored_secret_hex = _read(secret_file)
    if stored_secret_hex is None:
        fresh = explicit_secret or secrets.token_bytes(SECRET_LEN)
        stored_secret_hex = _create(secret_file, fresh.hex(), mode=0o600)
    _restrict(secret_file, 0o600)
    return _combine(Path(data_dir), explicit_name, explicit_secret, stored_name, stored_secret_hex)


def load_stored(data_dir: Path, *, name: str | None, secret_hex: str | None) -> InstanceCredentials:
    """The instance credentials for `data_dir`, as `load_or_create` would return them, but
    never writing anything: for commands that only read (`bayou admin-key`, `bayou doctor`).

    Raises `MissingCredentials` when `data_dir` holds no secret and none is given
    explicitly: minting a key from a secret nobody uses would only produce refused keys.
    """
    explicit_name = check_instance_name(name) if name is not None else None
    explicit_secret = parse_instance_secret(secret_hex) if secret_hex is not None else None
    directory = Path(data_dir) / CREDENTIALS_DIRNAME
    name_file, secret_file = directory / NAME_FILENAME, directory / SECRET_FILENAME
    stored_secret_hex = _read(secret_file)
    if stored_secret_hex is None and explicit_secret is None:
        raise MissingCredentials(secret_file)
    stored_name = _read(name_file) or DEFAULT_INSTANCE_NAME
    if stored_secret_hex is None:  # only explicit values: nothing stored to compare with
        assert explicit_secret is not None
        return InstanceCredentials(explicit_name or stored_name, explicit_secret)
    return _combine(Path(data_dir), explicit_name, explicit_secret, stored_name, stored_secret_hex)


def has_stored_secret(data_dir: Path) -> bool:
    """Whether `data_dir` holds an instance secret (is the data directory of a deployment)."""
    return (Path(data_dir) / CREDENTIALS_DIRNAME / SECRET_FILENAME).is_file()


def _combine(
    data_dir: Path,
    explicit_name: str | None,
    explicit_secret: bytes | None,
    stored_name: str,
    stored_secret_hex: str,
) -> InstanceCredentials:
    """The values in use: explicit ones win, with a warning when they differ from stored."""
    directory = data_dir / CREDENTIALS_DIRNAME
    name_file, secret_file = directory / NAME_FILENAME, directory / SECRET_FILENAME
    if explicit_name is None:
        _check_stored_name(stored_name, name_file)
    try:
        stored_secret = parse_instance_secret(stored_secret_hex, source=str(secret_file))
    except InvalidCredentials:
        if explicit_secret is None:
            raise
        stored_secret = None  # unusable anyway; the explicit secret differs from it

    name = explicit_name or stored_name
    if name != stored_name:
        _warn_name_differs(name, stored_name, name_file)
    secret = explicit_secret or stored_secret
    assert secret is not None
    if secret != stored_secret:
        _warn_secret_differs(secret_file, data_dir)
    return InstanceCredentials(name=name, secret=secret)


def _check_stored_name(name: str, path: Path) -> None:
    try:
        check_instance_name(name)
    except InvalidCredentials as error:
        raise InvalidCredentials(f"{path}: {error}") from None


def _credentials_dir(data_dir: Path) -> Path:
    directory = data_dir / CREDENTIALS_DIRNAME
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _restrict(directory, 0o700)
    return directory


def _read(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return text or None


def _create(path: Path, value: str, *, mode: int) -> str:
    """Write `value` to a new file atomically and return what the file then holds.

    If another process created the file first, its value wins and is returned, so two
    processes starting on a fresh data directory agree on one secret.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "w") as file:
            os.fchmod(file.fileno(), mode)
            file.write(value + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read(path) or value
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return value


def _restrict(path: Path, mode: int) -> None:
    """Tighten permissions left loose, e.g. by a Docker entrypoint's `echo >`."""
    try:
        if path.stat().st_mode & 0o777 & ~mode:
            os.chmod(path, mode)
    except PermissionError:
        _logger.warning("cannot restrict the permissions of %s to %o", path, mode)


def _describe_bad_secret(text: str) -> str:
    if not text:
        return "empty"
    if re.fullmatch(r"[0-9a-fA-F]*", text):
        return f"{len(text)} characters long"
    return "not hexadecimal"


def _warn_name_differs(chosen: str, stored: str, name_file: Path) -> None:
    _logger.warning(
        "The instance name %r given explicitly differs from %r stored in %s. Using %r for "
        "this run: admin keys minted for %r are refused while it is in use, and the stored "
        "name is left unchanged (edit or delete the file to change it for good).",
        chosen,
        stored,
        name_file,
        chosen,
        stored,
    )


def _warn_secret_differs(secret_file: Path, data_dir: Path) -> None:
    _logger.warning(
        "The instance secret given explicitly differs from the one stored in %s. Using the "
        "explicit secret for this run: admin keys minted under the stored secret are refused "
        "while it is in use, and `bayou admin-key --data-dir %s` without the explicit secret "
        "still mints keys for the stored one. The stored secret is left unchanged (edit or "
        "delete the file to change it for good).",
        secret_file,
        data_dir,
    )
