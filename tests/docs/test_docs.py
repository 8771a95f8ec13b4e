"""The documentation builds (strict: any warning fails), and what is generated is
complete: every setting, every CLI command and option, every name `bayou` exports."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

import bayou
from bayou.cli.main import COMMANDS
from bayou.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def text_of(page: Path) -> str:
    """A built page's text (tags removed, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "HOME": str(out)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_the_documentation_builds_without_warnings(site: Path) -> None:
    assert (site / "index.html").exists()
    assert (site / "quickstart" / "index.html").exists()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(site: Path, setting) -> None:  # type: ignore[no-untyped-def]
    page = text_of(site / "reference" / "configuration" / "index.html")
    assert setting.help.strip(), f"{setting.name} has no help text"
    assert setting.flag in page
    if setting.env:
        assert setting.env in page
    assert setting.help.split("`")[0][:40] in page


def _commands() -> list[tuple[str, object]]:
    import typer

    from bayou.cli.main import build_app

    root = typer.main.get_command(build_app())
    ctx = root.context_class(root, info_name="bayou")
    out = []
    for name in root.list_commands(ctx):  # type: ignore[attr-defined]
        command = root.get_command(ctx, name)  # type: ignore[attr-defined]
        if hasattr(command, "list_commands"):
            sub_ctx = command.context_class(command, info_name=name, parent=ctx)
            for sub in command.list_commands(sub_ctx):
                out.append((f"bayou {name} {sub}", command.get_command(sub_ctx, sub)))
        else:
            out.append((f"bayou {name}", command))
    return out


def test_the_cli_reference_has_every_command_and_option(site: Path) -> None:
    page = " ".join(text_of(site / "reference" / "cli" / "index.html").split())
    assert {name for name, _ in COMMANDS} <= {n.split()[1] for n, _ in _commands()}
    for name, command in _commands():
        assert name in page, f"{name} is missing from the CLI reference"
        for param in command.params:  # type: ignore[attr-defined]
            for flag in getattr(param, "opts", []):
                if flag.startswith("--"):
                    assert flag in page, f"{name} {flag} is missing from the CLI reference"
        summary = " ".join((command.help or "").strip().split("\n\n")[0].split())  # type: ignore[attr-defined]
        assert summary in page, f"{name}'s help is not in the CLI reference"


@pytest.mark.parametrize("name", bayou.__all__)
def test_every_exported_name_is_in_the_api_reference(site: Path, name: str) -> None:
    page = text_of(site / "reference" / "api" / "index.html")
    assert re.search(rf"\b{re.escape(name)}\b", page), f"bayou.{name} is not documented"


def test_the_readme_links_the_documentation() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "## Documentation" in readme and "(docs/index.md)" in readme
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / link).exists(), link
