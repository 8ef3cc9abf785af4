"""`fieldmind models`: the catalogue, the active model, adding a GGUF file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fieldmind.cli.common import emit_json, home_option, json_option, reports_errors, services_for

if TYPE_CHECKING:
    from fieldmind.services import Services


def _rows(services: Services) -> list[dict[str, Any]]:
    from fieldmind.llm.catalog import fits

    active = services.settings.model.name
    return [
        {
            "name": entry.name,
            "size_bytes": entry.size_bytes,
            "installed": services.catalog.is_installed(entry),
            "active": entry.name == active,
            "fits": fits(entry),
        }
        for entry in services.catalog
    ]


@click.group(invoke_without_command=True)
@home_option
@json_option
@click.pass_context
@reports_errors
def models(ctx: click.Context, home: str | None, as_json: bool) -> None:
    """The model catalogue and the active model (same as `models list`)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_models, home=home, as_json=as_json)


@models.command("list")
@home_option
@json_option
@reports_errors
def list_models(home: str | None, as_json: bool) -> None:
    """List catalogue models: size, installed, active, fits this machine."""
    rows = _rows(services_for(home))
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        marks = ("* " if row["active"] else "  ") + row["name"]
        state = "installed" if row["installed"] else "not installed"
        fit = "" if row["fits"] else ", too big for this machine"
        click.echo(f"{marks:40} {row['size_bytes'] / 1e6:7,.0f} MB  {state}{fit}")


@models.command("use")
@click.argument("name")
@home_option
@reports_errors
def use_model(name: str, home: str | None) -> None:
    """Make NAME (a catalogue name or a GGUF path) the active model."""
    from fieldmind.settings import save_setting

    services = services_for(home)
    services.catalog.resolve(name)  # assembles and checks it now, so a bad choice fails here
    save_setting(services.settings, "model.name", name)
    click.echo(f"active model: {name}")


@models.command("add")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Name in the catalogue (default: the file name).")
@home_option
@reports_errors
def add_model(path: Path, name: str | None, home: str | None) -> None:
    """Register a GGUF file you have (it stays where it is)."""
    entry = services_for(home).catalog.add(path, name)
    click.echo(f"added {entry.name} ({entry.megabytes()}); use it with: fieldmind models use {entry.name}")
