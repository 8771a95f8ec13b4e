"""Which data directory a command that reads a deployment's credentials means.

`bayou admin-key` and `bayou doctor` read the instance secret from a server's data
directory, and are often run from somewhere else (a Convex app's folder). In order:

1. `--data-dir`, else `DATA_DIR`: the user said so;
2. the running server the deployment URL points at (`--url`, else
   `CONVEX_SELF_HOSTED_URL` from the environment, `.env.local` or `.env`), from the
   record it keeps while it runs (`bayou.cli.server_records`);
3. `./bayou-data`, if it holds credentials (the command runs where the server runs);
4. the only running server, if there is exactly one.

Nothing here creates anything. When nothing fits, the error lists every place looked at
and how to point the command at the right one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bayou.auth.credentials import InstanceCredentials, has_stored_secret
from bayou.cli import server_records
from bayou.cli.server_records import ServerRecord

DEFAULT_DIRNAME = "bayou-data"


class DataDirNotFound(Exception):
    """No data directory could be chosen; the message says where we looked and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DataDir:
    """A chosen data directory, how it was chosen, and the running server using it."""

    path: Path
    source: str  # for messages: "--data-dir", "DATA_DIR", "./bayou-data", "the server at …"
    server: ServerRecord | None

    def describe(self) -> str:
        return f"{self.path} (from {self.source})"


def locate(
    flag: Path | None,
    *,
    url: str | None,
    url_source: str,
    environ: Mapping[str, str],
    cwd: Path,
    command: str,
) -> DataDir:
    """The data directory meant (see the module docstring), or `DataDirNotFound`."""
    running = server_records.live(environ)
    if flag is not None:
        return _explicit(cwd / flag, "--data-dir", running)
    if environ.get("DATA_DIR"):
        return _explicit(cwd / environ["DATA_DIR"], "DATA_DIR", running)
    looked = ["--data-dir / DATA_DIR: not set"]
    target = server_records.for_url(url, running)
    if target is not None:
        return DataDir(Path(target.data_dir), f"the server at {target.url}", target)
    if url:
        looked.append(f"{url_source} ({url}): no running Bayou server recorded for it")
    default = cwd / DEFAULT_DIRNAME
    if has_stored_secret(default):
        return _explicit(default, f"./{DEFAULT_DIRNAME}", running)
    state = "holds no credentials" if default.exists() else "does not exist"
    looked.append(f"./{DEFAULT_DIRNAME} ({default.resolve()}): {state}")
    where = server_records.records_dir(environ)
    if len(running) == 1:
        only = running[0]
        return DataDir(Path(only.data_dir), f"the only running server, {only.url}", only)
    if running:
        choices = "\n".join(f"  bayou {command} --url {r.url}    # {r.describe()}" for r in running)
        raise DataDirNotFound(
            f"Several Bayou servers are running; say which one (or give --data-dir):\n{choices}"
        )
    looked.append(f"running servers recorded in {where}: none")
    raise DataDirNotFound(
        "No Bayou data directory found. Looked at:\n"
        + "\n".join(f"  {line}" for line in looked)
        + "\nStart the server (`bayou serve`; it prints this command with its data directory), "
        f"or point at the server's data directory: `bayou {command} --data-dir "
        f"/path/to/{DEFAULT_DIRNAME}`."
    )


def running_servers_hint(environ: Mapping[str, str], command: str) -> str:
    """`Running servers: …` lines naming the command for each, or that none runs."""
    running = server_records.live(environ)
    if not running:
        return f"No running Bayou server is recorded in {server_records.records_dir(environ)}."
    return "Running servers:\n" + "\n".join(
        f"  bayou {command} --data-dir {r.data_dir}    # {r.url}, instance {r.instance!r}"
        for r in running
    )


def server_mismatch(server: ServerRecord, credentials: InstanceCredentials) -> str | None:
    """What differs between the running server's credentials and these, if anything."""
    if server.instance != credentials.name:
        return (
            f"The server at {server.url} runs as instance {server.instance!r}, but the "
            f"credentials read from {server.data_dir} name {credentials.name!r}: a key minted "
            "from them would be refused. Give this command the INSTANCE_NAME (or "
            "--instance-name) the server was started with."
        )
    if server.secret_fingerprint != credentials.fingerprint:
        return (
            f"The server at {server.url} runs with another instance secret than the one "
            f"read from {server.data_dir} (it was started with INSTANCE_SECRET or "
            "--instance-secret): a key minted from this one would be refused. Give this "
            "command the same INSTANCE_SECRET."
        )
    return None


def _explicit(path: Path, source: str, running: list[ServerRecord]) -> DataDir:
    resolved = path.resolve()
    server = next((r for r in running if Path(r.data_dir) == resolved), None)
    return DataDir(resolved, source, server)
