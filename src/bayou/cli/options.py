"""Options shared by `bayou` commands, so every command reads the same flags and variables.

The data directory and the instance credentials are named as in Convex's Docker image
(`DATA_DIR`, `INSTANCE_NAME`, `INSTANCE_SECRET`), so a deployment's environment carries
over unchanged. A command declares a parameter with one of these as its default::

    def serve(data_dir: DataDirOption = DEFAULT_DATA_DIR, ...) -> None: ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_DATA_DIR = Path("bayou-data")
"""Where state lives unless `--data-dir` or DATA_DIR says otherwise: `./bayou-data`,
relative to the current directory (Convex's image uses /convex/data, a volume; a pip
install has no such place, and a visible directory next to the project is easy to find,
back up and delete)."""

DataDirOption = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="DATA_DIR",
        help="Directory of the deployment's state; its credentials/ holds the instance "
        "name and secret.",
        file_okay=False,
    ),
]

InstanceNameOption = Annotated[
    str | None,
    typer.Option(
        "--instance-name",
        envvar="INSTANCE_NAME",
        help="Instance name. Default: the one stored in the data directory, else "
        "convex-self-hosted (then stored).",
        show_default=False,
    ),
]

InstanceSecretOption = Annotated[
    str | None,
    typer.Option(
        "--instance-secret",
        envvar="INSTANCE_SECRET",
        help="Instance secret, 64 hex characters. Default: the one stored in the data "
        "directory, else a new random one (then stored).",
        show_default=False,
    ),
]
