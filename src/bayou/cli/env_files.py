"""The variables that choose a deployment, read as the official CLI reads them: the
environment first, then `.env.local`, then `.env` in the current directory, an empty value
counting as unset (`npx convex` loads the files the same way)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

URL_VARIABLE = "CONVEX_SELF_HOSTED_URL"
KEY_VARIABLE = "CONVEX_SELF_HOSTED_ADMIN_KEY"
ENV_FILES = (".env.local", ".env")


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines of a dotenv file (quotes stripped, `#` comments and `export `
    prefixes ignored); an absent file is empty."""
    try:
        text = path.read_text()
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return {}
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name = name.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[name] = value
    return out


def lookup_with_source(
    name: str, environ: Mapping[str, str], directory: Path
) -> tuple[str | None, str]:
    """`name`'s value and where it came from: "the environment", ".env.local" or ".env"."""
    value = environ.get(name)
    if value:
        return value, "the environment"
    for file in ENV_FILES:
        value = read_env_file(directory / file).get(name)
        if value:
            return value, file
    return None, "nowhere"


def lookup(name: str, environ: Mapping[str, str], directory: Path) -> str | None:
    """`name` from the environment, else from `.env.local`, else from `.env`."""
    return lookup_with_source(name, environ, directory)[0]
