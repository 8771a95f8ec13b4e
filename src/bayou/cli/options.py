"""Options shared by the `bayou` commands that read a deployment's state from its data
directory (`admin-key`, `doctor`), so they read the same flags and variables.

The data directory and the instance credentials are named as in Convex's Docker image
(`DATA_DIR`, `INSTANCE_NAME`, `INSTANCE_SECRET`), so a deployment's environment carries
over unchanged. `--data-dir` defaults to None ("not given"): `bayou.cli.data_dirs` then
reads DATA_DIR, or finds the directory of the running server. `bayou serve` takes its
flags from the settings table instead (`bayou.config.SETTINGS`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The server's data directory (its credentials/ holds the instance name and "
        "secret). Default: $DATA_DIR, else the directory of the server --url points at, "
        "else ./bayou-data, else the only running server's.",
        show_default=False,
        file_okay=False,
    ),
]

InstanceNameOption = Annotated[
    str | None,
    typer.Option(
        "--instance-name",
        envvar="INSTANCE_NAME",
        help="Instance name, if the server was given one explicitly. Default: the one "
        "stored in the data directory.",
        show_default=False,
    ),
]

InstanceSecretOption = Annotated[
    str | None,
    typer.Option(
        "--instance-secret",
        envvar="INSTANCE_SECRET",
        help="Instance secret (64 hex characters), if the server was given one explicitly. "
        "Default: the one stored in the data directory.",
        show_default=False,
    ),
]

UrlForDataDirOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="URL of the running server whose data directory to use. Default: "
        "$CONVEX_SELF_HOSTED_URL (environment, then .env.local, .env).",
        show_default=False,
    ),
]
