"""The README fits a screen or two and its pages exist; every command the README and docs/ show runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from fieldmind.cli import cli

from conftest import ROOT

README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))


def _shown_commands(page: Path) -> list[list[str]]:
    """The `fieldmind …` and `python …` lines of a page's sh blocks, as words (comments dropped)."""
    found, fenced = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = line.strip() in ("```sh", "```bash", "```console") and not fenced
            continue
        words = shlex.split(line.split(" #")[0].strip().rstrip("\\"), posix=True) if fenced else []
        words = [w for w in words if not re.fullmatch(r"[A-Z_]+=\S*", w)]  # VAR=value prefixes
        if words and (words[0].endswith("fieldmind") or words[0] in ("python", ".venv/bin/python")):
            found.append(words[: words.index(">")] if ">" in words else words)
    return found


def _resolve(words: list[str]) -> tuple[list[str], click.Command]:
    """The command path (`models add`) a line runs, and its click command."""
    path, command = [], cli
    for word in words:
        if isinstance(command, click.Group) and word in command.commands:
            command = command.commands[word]
            path.append(word)
        elif not word.startswith("-") and isinstance(command, click.Group):
            break
    return path, command


def test_the_readme_fits_and_links_every_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    linked = set(re.findall(r"\(docs/([\w-]+\.md)", text))
    assert linked == {p.name for p in PAGES}, linked ^ {p.name for p in PAGES}
    first_screen = "\n".join(text.splitlines()[:12])
    assert "packaging/setup.sh && .venv/bin/fieldmind" in first_screen and ".venv/bin/python -m pytest" in first_screen


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_every_command_a_page_shows_exists(page: Path) -> None:
    commands = _shown_commands(page)
    assert commands or page.name in ("answers.md", "performance.md", "reliability.md", "quality.md", "scans.md")
    runner = CliRunner()
    for words in commands:
        if words[0] in ("python", ".venv/bin/python"):
            script = words[1] if words[1] != "-m" else None
            assert script is None or (ROOT / script).is_file(), f"{page.name}: {' '.join(words)}"
            continue
        path, command = _resolve(words[1:])
        known = {opt for param in command.params for opt in param.opts + param.secondary_opts} | {"--help", "-h"}
        if isinstance(command, click.Group) or command is not cli:
            known |= {opt for param in cli.params for opt in param.opts}  # --home, --engine-url on the group
        for word in words[1:]:
            if word.startswith("--"):
                assert word.split("=")[0] in known, f"{page.name}: {' '.join(words)}: no option {word}"
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, f"{page.name}: {' '.join(words)}: {result.output}"
