"""`python -m bayou.cli`: the `bayou` command without its console script on PATH."""

from bayou.cli.main import app

app(prog_name="bayou")
