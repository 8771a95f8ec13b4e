"""Records of the `bayou serve` processes this user runs, so that a command run in another
folder (`bayou admin-key` in a Convex app's folder, `bayou doctor`) finds a server's data
directory.

`bayou serve` writes `<state dir>/servers/<port>.json` once it listens and deletes it when
it stops. The state directory is `$XDG_STATE_HOME/bayou`, by default `~/.local/state/bayou`.
A record whose process is gone (it was killed) is ignored; the next server on that port
replaces it. Readers never write.

A record holds no secret: the data directory's path, the instance name and a fingerprint
of the instance secret in use, so that `bayou admin-key` can tell when the server was
started with another `INSTANCE_SECRET` than the one stored. The credentials themselves are
only ever read from the data directory, under its permissions; no endpoint hands out keys.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


@dataclass(frozen=True)
class ServerRecord:
    """One running `bayou serve`."""

    pid: int
    port: int
    site_port: int
    url: str
    data_dir: str
    instance: str
    secret_fingerprint: str
    database: str
    started_at: float
    process_start: int | None = None  # the kernel's start time of `pid`, where known

    @property
    def alive(self) -> bool:
        """Whether the process that wrote the record still runs (not another one that was
        given the same id since)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return False  # another user's process has this id now
        return self.process_start is None or self.process_start == process_start(self.pid)

    def describe(self) -> str:
        """`http://127.0.0.1:3210 (instance 'x', data directory /a/b, pid 12)`."""
        return (
            f"{self.url} (instance {self.instance!r}, data directory {self.data_dir}, "
            f"pid {self.pid})"
        )


def records_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/bayou/servers`, by default `~/.local/state/bayou/servers`."""
    environ = os.environ if environ is None else environ
    state = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "bayou" / "servers"


def write(record: ServerRecord, environ: Mapping[str, str] | None = None) -> Path | None:
    """Record a server (readable by this user only); None if the directory is unusable,
    which costs only the convenience of finding the server from another folder."""
    directory = records_dir(environ)
    path = directory / f"{record.port}.json"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(asdict(record), indent=1) + "\n")
        temporary.chmod(0o600)
        temporary.replace(path)
    except OSError as error:
        log.debug("could not record the running server in %s: %s", directory, error)
        return None
    return path


def remove(path: Path | None) -> None:
    """Delete this process's record (left alone if another process has replaced it)."""
    if path is None:
        return
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        if json.loads(path.read_text())["pid"] == os.getpid():
            path.unlink()


def live(environ: Mapping[str, str] | None = None) -> list[ServerRecord]:
    """The records of servers still running, by port."""
    found = []
    for path in sorted(records_dir(environ).glob("*.json")):
        record = _read(path)
        if record is not None and record.alive:
            found.append(record)
    return sorted(found, key=lambda r: r.port)


def for_url(url: str | None, records: list[ServerRecord]) -> ServerRecord | None:
    """The running server a URL points at: its own URL, or a loopback URL on its port."""
    if not url:
        return None
    url = url.rstrip("/")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    for record in records:
        if record.url.rstrip("/") == url:
            return record
        if parts.hostname in LOOPBACK_HOSTS and record.port == port:
            return record
    return None


def new_record(
    *,
    port: int,
    site_port: int,
    url: str,
    data_dir: Path,
    instance: str,
    secret_fingerprint: str,
    database: str,
) -> ServerRecord:
    """The record of this process."""
    return ServerRecord(
        pid=os.getpid(),
        port=port,
        site_port=site_port,
        url=url,
        data_dir=str(Path(data_dir).resolve()),
        instance=instance,
        secret_fingerprint=secret_fingerprint,
        database=database,
        started_at=time.time(),
        process_start=process_start(os.getpid()),
    )


def process_start(pid: int) -> int | None:
    """When the process started, in clock ticks since boot (Linux); None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces and parentheses); the start
    # time is field 22 of the whole line, so the 20th after the name.
    fields = stat[stat.rindex(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _read(path: Path) -> ServerRecord | None:
    try:
        return ServerRecord(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None  # half-written, or from another version: not ours to judge
