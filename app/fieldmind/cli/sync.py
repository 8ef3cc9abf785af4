"""`fieldmind sync`, `fieldmind pack keygen|build` and `fieldmind trust add|list`."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from fieldmind.cli.common import EXIT_PARTIAL, emit_json, home_option, info, json_option, reports_errors, services_for
from fieldmind.errors import FieldmindError


@click.command()
@click.option("--source", default=None, help="A pack site: an http(s) URL or a folder (USB stick, LAN share).")
@click.option("--once", "mode", flag_value="once", default=True, help="Sync now and exit (the default).")
@click.option("--watch", "mode", flag_value="watch", help="Keep watching the source; sync when it is reachable.")
@click.option("--audit", is_flag=True, help="Print the log of what sync fetched and applied, and exit.")
@home_option
@json_option
@reports_errors
def sync(source: str | None, mode: str, audit: bool, home: str | None, as_json: bool) -> None:
    """Pull signed knowledge updates and apply them atomically."""
    from fieldmind.sync.runner import run_sync
    from fieldmind.sync.state import SyncPaths, read_audit

    services = services_for(home)
    if audit:
        events = read_audit(SyncPaths(services.settings.home))
        if as_json:
            emit_json(events)
        for event in [] if as_json else events:
            click.echo(
                f"{event['time']} {event['event']} {event.get('pack', '')} v{event.get('version', '')} "
                f"from {event['source']}"
            )
        return
    if source and source.startswith(("http://", "https://")):
        from fieldmind import netguard

        endpoint = netguard.endpoint_of(source)
        if endpoint:
            netguard.allow([endpoint])

    def once() -> bool:
        try:
            result = run_sync(services, source, progress=None if as_json else lambda s: info(f"sync: {s.describe()}"))
        except FieldmindError as exc:
            if not as_json:
                raise
            # --json promises one JSON document on stdout, a failed sync included
            spec = source or services.settings.sync.source
            emit_json({"source": spec, "applied": [], "rejected": [], "up_to_date": False, "error": str(exc)})
            sys.exit(EXIT_PARTIAL)
        if as_json:
            emit_json(result.to_json())
            sys.stdout.flush()
        else:
            if result.recovered:
                info(f"sync: {result.recovered}")
            for applied in result.applied:
                click.echo(
                    f"applied {applied['name']} v{applied['version']}: +{applied['added']} "
                    f"~{applied['updated']} -{applied['removed']}"
                )
            for rejected in result.rejected:
                click.echo(f"rejected {rejected['name']}: {rejected['reason']}")
            verified = result.last_verified or "never"
            click.echo(("up to date" if result.up_to_date else "not up to date") + f" (last verified {verified})")
        return not result.rejected

    if mode == "once":
        if not once():
            sys.exit(EXIT_PARTIAL)
        return
    from fieldmind.sync.monitor import ConnectivityMonitor

    spec = source or services.settings.sync.source
    if not spec:
        raise click.UsageError("--watch needs --source or sync.source in config.toml")
    monitor = ConnectivityMonitor(
        spec, lambda: once(), lambda s: info(f"sync: {s}"), interval=services.settings.sync.check_interval_s
    )
    info(f"watching {spec}; Ctrl-C to stop")
    try:
        monitor.run()
    except KeyboardInterrupt:
        monitor.stop()


@click.group()
def pack() -> None:
    """Publisher tools: keys and signed packs."""


PUBLISHER_DIR = "publisher"
"""Where a publisher's keys live in its home when --out / --key are not given."""


@pack.command("keygen")
@click.option(
    "--out", "out_dir", default=None, type=click.Path(file_okay=False, path_type=Path), help="Default: <home>/publisher"
)
@home_option
@reports_errors
def keygen(out_dir: Path | None, home: str | None) -> None:
    """Write DIR/publisher.key (private, keep it safe) and DIR/publisher.pub (give it to devices)."""
    from fieldmind.locations import resolve_home
    from fieldmind.sync import keys

    private_path, public_path = keys.generate(out_dir or resolve_home(home) / PUBLISHER_DIR)
    key_id = keys.key_id(keys.load_public(public_path))
    click.echo(f"private key: {private_path}\npublic key:  {public_path}\nkey id: {key_id}")


@pack.command("build")
@click.argument("src_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", required=True, help="Pack name (lower case, digits, . _ -).")
@click.option("--version", "version", required=True, type=click.IntRange(min=1))
@click.option(
    "--key",
    "key_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Default: <home>/publisher/publisher.key (from `pack keygen`).",
)
@click.option("--out", "site", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--expires-days", default=30.0, type=click.FloatRange(min=0.0, min_open=True))
@home_option
@reports_errors
def build(
    src_dir: Path, name: str, version: int, key_file: Path | None, site: Path, expires_days: float, home: str | None
) -> None:
    """Sign every document under SRC_DIR as pack NAME version N on the static site SITE_DIR."""
    from fieldmind.errors import FieldmindError
    from fieldmind.locations import resolve_home
    from fieldmind.sync.pack import build as build_pack

    if key_file is None:
        key_file = resolve_home(home) / PUBLISHER_DIR / "publisher.key"
        if not key_file.is_file():
            raise FieldmindError(f"{key_file}: no publisher key; run `fieldmind pack keygen` or give --key")
    built = build_pack(src_dir, name, version, key_file, site, expires_days)
    click.echo(
        f"{built.name} v{built.version}: {built.files} files, {built.bytes / 2**20:.1f} MB; site serial {built.serial}"
    )


@click.group()
def trust() -> None:
    """The publisher keys this device accepts."""


@trust.command("add")
@click.argument("pubfile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@home_option
@reports_errors
def trust_add(pubfile: Path, home: str | None) -> None:
    """Trust the publisher whose public key is PUBFILE."""
    from fieldmind.settings import save_setting
    from fieldmind.sync import keys

    services = services_for(home)
    public = keys.load_public(pubfile)
    key_id = keys.key_id(public)
    current = [k.model_dump() for k in services.settings.sync.trusted_keys]
    if any(k["id"] == key_id for k in current):
        click.echo(f"already trusted: {key_id}")
        return
    current.append({"id": key_id, "key": keys.public_b64(public), "added": datetime.now().astimezone().isoformat()})
    save_setting(services.settings, "sync.trusted_keys", current)
    click.echo(f"trusted publisher key {key_id}")


@trust.command("list")
@home_option
@json_option
@reports_errors
def trust_list(home: str | None, as_json: bool) -> None:
    rows = [{"id": k.id, "added": k.added} for k in services_for(home).settings.sync.trusted_keys]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(f"{row['id']}  added {row['added']}")
