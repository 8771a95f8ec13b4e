"""`bayou init`: a new Python app, ready to deploy and to test.

    bayou init my-app          # or `bayou init` in an empty folder
    cd my-app
    bayou deploy               # with CONVEX_SELF_HOSTED_URL / _ADMIN_KEY set
    pytest                     # the tests run on bayou.testing: no server needed

It writes `convex/` (a schema, a query, a mutation and an action), `tests/test_tasks.py`
(tests of each, with the action's HTTP request stubbed), `pyproject.toml` (pytest finds
`convex/`), and `.gitignore`. Existing files are never overwritten: a folder that already
has any of them is refused, naming them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import typer

SCHEMA: Final = '''\
"""The tables of the app, their fields and their indexes."""

from bayou import define_schema, define_table, v

schema = define_schema(
    {
        "tasks": define_table({"text": v.string(), "done": v.boolean()}).index(
            "by_done", ["done"]
        ),
    }
)
'''

TASKS: Final = '''\
"""Tasks: `tasks:list` (a query), `tasks:add` (a mutation), `tasks:import_from` (an action).

Clients call them by path: `useQuery(api.tasks.list)` in React (with `anyApi` from
"convex/server"), `client.query("tasks:list")` with the PyPI `convex` client.
"""

import json
import urllib.request
from typing import Any

from bayou import ActionCtx, ConvexError, MutationCtx, QueryCtx, action, api, mutation, query, v


@query(args={}, name="list")  # `list` as the function's name would hide Python's list
def list_tasks(ctx: QueryCtx) -> list[dict[str, Any]]:
    """Every task, oldest first (reactive: clients see new tasks at once)."""
    return ctx.db.query("tasks").collect()


@mutation(args={"text": v.string()})
def add(ctx: MutationCtx, text: str) -> str:
    """Add a task; returns its id."""
    if not text.strip():
        raise ConvexError({"code": "EMPTY_TASK"})
    return ctx.db.insert("tasks", {"text": text.strip(), "done": False})


@action(args={"url": v.string()})
def import_from(ctx: ActionCtx, url: str) -> int:
    """Fetch a JSON list of task texts from `url` and add each (actions may use the
    network and any library); returns how many were added."""
    with urllib.request.urlopen(url) as response:
        texts = json.load(response)
    for text in texts:
        ctx.run_mutation(api.tasks.add, {"text": str(text)})
    return len(texts)
'''

TEST_TASKS: Final = '''\
"""Tests of convex/tasks.py on bayou.testing: each test has a fresh backend in memory."""

import pytest

from bayou import ConvexError, api
from bayou.testing import ConvexTest


def test_added_tasks_are_listed(convex: ConvexTest) -> None:
    convex.mutation(api.tasks.add, {"text": "Write the docs"})
    assert [task["text"] for task in convex.query(api.tasks.list)] == ["Write the docs"]


def test_an_empty_task_is_refused(convex: ConvexTest) -> None:
    with pytest.raises(ConvexError) as error:
        convex.mutation(api.tasks.add, {"text": "  "})
    assert error.value.data == {"code": "EMPTY_TASK"}


def test_tasks_are_imported_from_a_url(convex: ConvexTest) -> None:
    convex.stub_fetch("https://example.com/tasks.json", json=["one", "two"])
    assert convex.action(api.tasks.import_from, {"url": "https://example.com/tasks.json"}) == 2
    assert len(convex.table("tasks")) == 2
'''

PYPROJECT: Final = """\
[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["bayou"]

[tool.pytest.ini_options]
testpaths = ["tests"]
bayou_functions = "convex"
"""

GITIGNORE: Final = """\
__pycache__/
.env.local
bayou-data/
"""


def template(name: str) -> dict[str, str]:
    """The files of a new app, by path relative to its folder."""
    return {
        "convex/schema.py": SCHEMA,
        "convex/tasks.py": TASKS,
        "tests/test_tasks.py": TEST_TASKS,
        "pyproject.toml": PYPROJECT.format(name=name),
        ".gitignore": GITIGNORE,
    }


def init(
    directory: Annotated[
        Path, typer.Argument(help="The folder of the new app (created if missing).")
    ] = Path("."),
) -> None:
    """Create a Python app: convex/ (schema, a query, a mutation, an action) and its tests."""
    target = directory.resolve()
    files = template(_project_name(target))
    clashes = [path for path in files if (target / path).exists()]
    if clashes:
        typer.echo(
            f"✖ Error: {target} already has {', '.join(clashes)}: nothing was written. "
            "Run `bayou init NEW-FOLDER`, or move them away.",
            err=True,
        )
        raise typer.Exit(1)
    for path, text in files.items():
        file = target / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    shown = directory if str(directory) != "." else Path(".")
    typer.echo(f"✔ Created a Python app in {target}")
    for path in files:
        typer.echo(f"  {shown / path}")
    steps = ["", "Next:"]
    if shown != Path("."):
        steps.append(f"  cd {shown}")
    steps += [
        "  pytest                                   # test it: no server needed",
        "  bayou serve                              # in another terminal, then:",
        "  export CONVEX_SELF_HOSTED_URL=http://127.0.0.1:3210",
        "  export CONVEX_SELF_HOSTED_ADMIN_KEY=$(bayou admin-key)",
        "  bayou deploy                             # push convex/",
        '  bayou run tasks:add \'{"text": "Hello"}\'',
    ]
    typer.echo("\n".join(steps))


def _project_name(folder: Path) -> str:
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in folder.name).strip("-_")
    return name.lower() or "bayou-app"
