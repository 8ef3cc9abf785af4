"""Commands over the knowledge base: ingest, docs, remove, search."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fieldmind.citations import place
from fieldmind.cli.common import (
    EXIT_PARTIAL,
    command_home,
    emit_json,
    home_option,
    info,
    json_option,
    make_scope,
    reports_errors,
    scope_options,
    services_for,
)

if TYPE_CHECKING:
    from fieldmind.knowledge.ingest import IngestReport
    from fieldmind.knowledge.progress import IngestProgress
    from fieldmind.services import Services


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--watch", is_flag=True, help="Keep watching the folder(s) and ingest changes until Ctrl-C.")
@click.option("--doc-id", help="The document's id across revisions (e.g. GX7500-OSM); one file only.")
@click.option("--title", help="The document's title (default: the PDF's own title, else the file name).")
@click.option("--revision", help="Its revision label (e.g. C, R12); the newest revision of an id answers.")
@click.option("--effective", metavar="YYYY-MM-DD", help="The date the revision takes effect.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Tag the documents (asset=N123AB). Repeatable.")
@click.option("--site", "to_site", is_flag=True, help="Also put them in the site's shared store, for every terminal.")
@home_option
@json_option
@reports_errors
def ingest(
    paths: tuple[Path, ...],
    watch: bool,
    doc_id: str | None,
    title: str | None,
    revision: str | None,
    effective: str | None,
    tags: tuple[str, ...],
    to_site: bool,
    home: str | None,
    as_json: bool,
) -> None:
    """Add or update files and folders (PDF, DOCX, HTML, Markdown, text); unchanged files cost a hash."""
    from fieldmind.errors import FieldmindError
    from fieldmind.knowledge.revisions import DocumentMeta, parse_tags
    from fieldmind.pace import Pace, duration

    if (doc_id or title or revision or effective) and (len(paths) != 1 or paths[0].is_dir()):
        raise click.UsageError("--doc-id, --title, --revision and --effective describe one file: give exactly one")
    try:
        meta = DocumentMeta(doc_id, title, revision, effective, parse_tags(tags))
    except FieldmindError as exc:
        raise click.UsageError(str(exc)) from None
    services = services_for(home)

    pace = Pace(0)  # started now; its total is the files the ingest finds

    def progress(event: IngestProgress) -> None:
        if as_json:
            return
        if event.steps_total:
            info(event.describe())
            return
        pace.total = event.files_total
        left = pace.left(event.files_done)
        tail = f" (about {duration(left)} left)" if left and left >= 1 and event.files_done < event.files_total else ""
        info(f"[{event.files_done}/{event.files_total}] {event.outcome:9} {event.path}{tail}")

    if watch:
        _watch(services, paths, as_json)
        return
    report = services.knowledge.ingest(
        paths, progress=progress, meta=meta if meta != DocumentMeta() else None, to_site=to_site
    )
    _print_report(report, as_json)
    if report.failed:
        sys.exit(EXIT_PARTIAL)


def _watch(services: Services, paths: tuple[Path, ...], as_json: bool) -> None:
    import threading

    from fieldmind.knowledge.watch import watch_folder

    folders = [p for p in paths if p.is_dir()]
    if len(folders) != len(paths):
        raise click.UsageError("--watch takes folders")
    stop = threading.Event()
    lock = threading.Lock()

    def report(result: IngestReport) -> None:
        with lock:
            _print_report(result, as_json)
            sys.stdout.flush()

    workers = [
        threading.Thread(target=watch_folder, args=(services.knowledge, f, report, stop), daemon=True) for f in folders
    ]
    for worker in workers:
        worker.start()
    info(f"watching {', '.join(map(str, folders))}; Ctrl-C to stop")
    try:
        while any(w.is_alive() for w in workers):
            for worker in workers:
                worker.join(timeout=0.5)
    except KeyboardInterrupt:
        stop.set()


def _print_report(report: IngestReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_json())
    else:
        click.echo(report.summary())
        for warning in report.warnings:
            info(f"warning: {warning['path']}: {warning['warning']}")
        for failure in report.failed:
            info(f"failed: {failure['path']}: {failure['error']}")
        if report.skipped:
            info(f"skipped {len(report.skipped)} file(s) of a type Fieldmind does not read ({report.skipped_types()})")


@click.command()
@home_option
@json_option
@reports_errors
def docs(home: str | None, as_json: bool) -> None:
    """List the documents in the knowledge base (with a site store: this terminal's copy, brought up to date)."""
    knowledge = services_for(home).knowledge
    state = knowledge.refresh_site(force=True)
    if state.startswith("offline"):
        info(f"site store {state}")
    records = knowledge.documents()
    if as_json:
        emit_json([r.to_json() for r in records])
        return
    if not records:
        click.echo("No documents yet. Add some with: fieldmind ingest PATH")
    for r in records:
        pages = f"{r.pages} pages" if r.pages else "no pages"
        if r.revision or r.effective:
            pages = " ".join(filter(None, [f"rev. {r.revision}" if r.revision else "", r.effective])) + ", " + pages
        if r.superseded:
            pages = "SUPERSEDED, " + pages
        if r.tags:
            pages += ", " + " ".join(f"{k}={v}" for k, v in sorted(r.tags.items()))
        if r.ocr_pages:
            pages += f", {r.ocr_pages} read by OCR"
        if r.blank_pages:
            pages += f", {r.blank_pages} without text"
        click.echo(f"{r.id}  {r.name}  ({pages}, {r.chunks} passages, {r.source})")


@click.command()
@click.argument("refs", nargs=-1, required=True)
@home_option
@json_option
@reports_errors
def remove(refs: tuple[str, ...], home: str | None, as_json: bool) -> None:
    """Remove documents by id or name."""
    removed, unknown = services_for(home).knowledge.remove(refs)
    if as_json:
        emit_json({"removed": removed})
    else:
        click.echo(f"removed {removed}")
    for ref in unknown:
        info(f"no document matches {ref!r} (see: fieldmind docs)")
    if unknown:
        sys.exit(EXIT_PARTIAL)


@click.command()
@click.argument("query")
@click.option("-k", "k", type=click.IntRange(1, 100), default=None, help="How many passages.")
@scope_options
@home_option
@json_option
@reports_errors
def search(
    query: str, k: int | None, scope: tuple[str, ...], all_revisions: bool, home: str | None, as_json: bool
) -> None:
    """Find passages (no model). QUERY of - reads one query a line from stdin, one JSON array a line out.

    With the app open on the same home, it answers (no index nor embedder to load here)."""
    if query != "-" and (warm := _warm(home, query, k, scope, all_revisions)) is not None:
        _print_passages(warm, as_json)
        return
    services = services_for(home)
    repaired, _ = services.open_knowledge()
    if repaired:
        info(f"index repaired: {repaired}")
    limited = make_scope(scope)
    if query == "-":
        for line in sys.stdin:
            if line.strip():
                found = services.knowledge.search(line.strip(), k, limited, all_revisions)
                emit_json([p.to_json() for p in found])
                sys.stdout.flush()
        return
    passages = services.knowledge.search(query, k, limited, all_revisions)
    _print_passages([p.to_json() for p in passages], as_json)


def _warm(
    home: str | None, query: str, k: int | None, scope: tuple[str, ...], all_revisions: bool
) -> list[dict[str, Any]] | None:
    from fieldmind.settings import load_settings
    from fieldmind.warm import warm_search

    make_scope(scope)  # a bad scope is a usage error, warm or not
    return warm_search(load_settings(command_home(home)).home, query, k, scope, all_revisions)


def _print_passages(passages: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        emit_json(passages)
        return
    if not passages:
        click.echo("No passages found.")
    for n, p in enumerate(passages, start=1):
        where = place(
            p["doc"], p["page"], p["section"], last_heading=False, revision=p["revision"], effective=p["effective"]
        )
        click.echo(f"[{n}] {where}  (score {p['score']:.4f})")
        click.echo("    " + " ".join(str(p["text"]).split())[:400])


@click.command()
@click.argument("doc")
@click.argument("tags", nargs=-1)
@click.option("--remove", "removed", multiple=True, metavar="KEY", help="Remove a tag. Repeatable.")
@home_option
@json_option
@reports_errors
def tag(doc: str, tags: tuple[str, ...], removed: tuple[str, ...], home: str | None, as_json: bool) -> None:
    """Tag document DOC (id, name, path or document id): KEY=VALUE ... (e.g. asset=N123AB model=GX-7500)."""
    from fieldmind.errors import FieldmindError
    from fieldmind.knowledge.revisions import parse_tags

    try:
        added = parse_tags(tags)
    except FieldmindError as exc:
        raise click.UsageError(str(exc)) from None
    records = services_for(home).knowledge.tag(doc, added, removed)
    if as_json:
        emit_json([r.to_json() for r in records])
        return
    for r in records:
        shown = " ".join(f"{k}={v}" for k, v in sorted(r.tags.items())) or "no tags"
        click.echo(f"{r.name}: {shown}")
