"""`bayou dashboard`: open the deployment's dashboard in a browser.

`npx convex dashboard` refuses self-hosted deployments, so this is the command that does
it. The dashboard is served by `bayou serve` itself at `<url>/dashboard`; the URL is the
one the official CLI would use (`--url`, `CONVEX_SELF_HOSTED_URL` in the environment,
then `.env.local` / `.env`), else `http://127.0.0.1:3210`. The page asks for an admin
key, kept for the browser session only; the key is never put in the URL.
"""

from __future__ import annotations

from typing import Annotated

import typer

DEFAULT_URL = "http://127.0.0.1:3210"


def dashboard(
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Deployment URL. Default: $CONVEX_SELF_HOSTED_URL (environment, then "
            f".env.local, .env), else {DEFAULT_URL}.",
            show_default=False,
        ),
    ] = None,
    no_open: Annotated[
        bool,
        typer.Option("--no-open", help="Print the dashboard's URL without opening a browser."),
    ] = False,
) -> None:
    """Open the dashboard (data, functions, logs, files, environment) of a running server."""
    import os
    import webbrowser
    from pathlib import Path

    from bayou.cli.env_files import URL_VARIABLE, lookup

    base = url or lookup(URL_VARIABLE, os.environ, Path.cwd()) or DEFAULT_URL
    target = base.rstrip("/") + "/dashboard"
    typer.echo(target)
    typer.echo("Sign in with an admin key: `bayou admin-key` prints one.", err=True)
    if not no_open and not webbrowser.open(target):
        typer.echo("No browser could be opened here: open the URL above yourself.", err=True)
