"""The `fieldmind` command: a thin layer that parses arguments, calls the core and prints results.

Commands import what they need when they run, so `fieldmind --version` answers at once.
"""

from __future__ import annotations

import click

from fieldmind import __version__
from fieldmind.cli.ask import ask
from fieldmind.cli.bench import bench
from fieldmind.cli.common import engine_url_option, home_option
from fieldmind.cli.doctor import doctor
from fieldmind.cli.evaluate import evaluate
from fieldmind.cli.knowledge import docs, ingest, remove, search, tag
from fieldmind.cli.models import models
from fieldmind.cli.show import show
from fieldmind.cli.sync import pack, sync, trust


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="fieldmind")
@home_option
@engine_url_option
@click.pass_context
def cli(ctx: click.Context, home: str | None, engine_url: str | None) -> None:
    """Fieldmind: answers from your manuals, with the page they came from. Offline.

    With no command, opens the terminal app.
    """
    if ctx.invoked_subcommand is None:
        from fieldmind.tui import run_tui

        run_tui(home, engine_url)


for command in (ingest, docs, remove, tag, search, ask, show, models, evaluate, sync, pack, trust, bench, doctor):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="fieldmind")
