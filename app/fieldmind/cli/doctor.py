"""`fieldmind doctor`: hardware, llama.cpp build, model fit and speed, paths, index health, network policy."""

from __future__ import annotations

from typing import Any

import click

from fieldmind.cli.common import emit_json, engine_url_option, home_option, json_option, reports_errors, services_for


@click.command()
@click.option(
    "--measure/--no-measure",
    default=False,
    help="Measure each installed model's speed (loads each; ~20 s the first time, then remembered).",
)
@engine_url_option
@home_option
@json_option
@reports_errors
def doctor(measure: bool, engine_url: str | None, home: str | None, as_json: bool) -> None:
    """Check this machine and this installation (for people; --json for scripts)."""
    from fieldmind.doctor import report

    data = report(services_for(home, engine_url), measure=measure)
    if as_json:
        emit_json(data)
        return
    for line in for_people(data):
        click.echo(line)


def _mark(ok: bool) -> str:
    return "ok " if ok else "!! "


def for_people(data: dict[str, Any]) -> list[str]:
    """The report as short lines a technician reads: what is fine, what is not and what to do."""
    machine, build, index, reader = data["machine"], data["llama_cpp"], data["index"], data["reader"]
    lines = [
        f"Machine    {machine['cores']} cores, {machine['ram_gb']} GB RAM, {machine['cpu']['model']}",
        f"llama.cpp  {_mark(build.get('safe_on_this_cpu', True))}{' '.join(build.get('features', []))}"
        + (f" — {build['problem']}" if build.get("problem") else ""),
        "Models",
    ]
    for row in data["models"]:
        active = "*" if row["name"] == data["active_model"] else " "
        state = "installed" if row["installed"] else "not installed"
        speed = f"{row['tokens_per_s']} tok/s ({row['how']})" if row["tokens_per_s"] else "speed: doctor --measure"
        fit = "fits" if row["fits"] else "too big for this machine"
        lines.append(f"  {active} {row['name']:30} {row['size_bytes'] / 1e6:7,.0f} MB  {state:13}  {fit}, {speed}")
    if index.get("ok") is not None and "documents" in index:
        lines.append(
            f"Index      {_mark(index['ok'])}{index['documents']} documents, {index['passages']} passages, "
            f"{index['vectors']} vectors"
            + (" — an interrupted write: the next start repairs it" if index.get("interrupted_write") else "")
            + (f"; packs {', '.join(f'{k} v{v}' for k, v in index['packs'].items())}" if index.get("packs") else "")
        )
    else:
        lines.append(f"Index      !! {index.get('error')}")
    lines.append(
        f"Answers    chosen by {'Fieldmind’s reader' if reader['ok'] else 'hand-weighted scores'}"
        + (f" ({reader['error']})" if reader.get("error") else "")
    )
    site = data.get("site_store")
    if site:
        lines.append(
            f"Site store {_mark(site['ok'])}{site['server']}: "
            + (f"{site['documents']} documents, {site['round_trip_ms']} ms" if site["ok"] else site["error"])
        )
    server = data.get("inference_server")
    if server:
        lines.append(f"Inference  {server.get('url', '')} {server.get('model') or server.get('error', '')}".rstrip())
    policy = data["network_policy"]
    allowed = ", ".join(policy.get("allowed_endpoints") or []) or "nothing"
    lines.append(
        f"Network    {_mark(policy.get('guard_installed', False))}connections allowed to: {allowed} "
        f"(refused this run: {policy.get('refused_this_run', 0)}); log {policy.get('log')}"
    )
    sync = data["sync"]
    lines.append(
        f"Sync       source {sync['source'] or 'none (sync.source)'}, {sync['trusted_keys']} trusted keys, "
        f"last verified {sync['last_verified'] or 'never'}"
    )
    paths = data["paths"]
    lines.append(f"Home       {paths['home']} (models {paths['models']})")
    return lines
