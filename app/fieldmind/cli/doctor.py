"""`fieldmind doctor`: hardware, llama.cpp build, model fit and speed, paths, index health, network policy."""

from __future__ import annotations

import json

import click

from fieldmind.cli.common import emit_json, engine_url_option, home_option, json_option, reports_errors, services_for


@click.command()
@click.option("--no-measure", is_flag=True, help="Do not measure model speeds (use cached or estimated ones).")
@engine_url_option
@home_option
@json_option
@reports_errors
def doctor(no_measure: bool, engine_url: str | None, home: str | None, as_json: bool) -> None:
    """Check this machine and this installation."""
    from fieldmind.doctor import report

    data = report(services_for(home, engine_url), measure=not no_measure)
    if as_json:
        emit_json(data)
        return
    machine, build = data["machine"], data["llama_cpp"]
    click.echo(f"machine: {machine['cores']} cores, {machine['ram_gb']} GB RAM, {machine['cpu']['model']}")
    click.echo(f"cpu features: {' '.join(machine['cpu']['features'])}")
    click.echo(
        f"llama.cpp: {' '.join(build.get('features', []))}" + ("  (AMX: UNSAFE here)" if build.get("amx") else "")
    )
    for row in data["models"]:
        speed = f"{row['tokens_per_s']} tok/s ({row['how']})" if row["tokens_per_s"] else "speed unknown"
        state = "installed" if row["installed"] else "not installed"
        click.echo(f"  {row['name']:32} {state:14} {'fits' if row['fits'] else 'too big':8} {speed}")
    click.echo(f"index: {json.dumps(data['index'])}")
    if data.get("site_store"):
        click.echo(f"site store: {json.dumps(data['site_store'])}")
    if data.get("inference_server"):
        click.echo(f"inference server: {json.dumps(data['inference_server'])}")
    click.echo(f"network policy: {json.dumps(data['network_policy'])}")
    click.echo(f"sync: {json.dumps(data['sync'])}")
