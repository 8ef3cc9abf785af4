"""Commands over the knowledge base: ingest, docs, remove, search."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fieldmind.citations import place
from fieldmind.cli.common import (
    EXIT_PARTIAL,
    emit_json,
    home_option,
    info,
    json_option,
    reports_errors,
    services_for,
)

if TYPE_CHECKING:
    from fieldmind.knowledge.ingest import IngestProgress, IngestReport
    from fieldmind.services import Services


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--watch", is_flag=True, help="Keep watching the folder(s) and ingest changes until Ctrl-C.")
@home_option
@json_option
@reports_errors
def ingest(paths: tuple[Path, ...], watch: bool, home: str | None, as_json: bool) -> None:
    """Add or update files and folders (PDF, DOCX, HTML, Markdown, text); unchanged files cost a hash."""
    services = services_for(home)

    def progress(event: IngestProgress) -> None:
        if not as_json:
            info(
                event.describe()
                if event.outcome == "reading"
                else f"[{event.files_done}/{event.files_total}] {event.outcome:9} {event.path}"
            )

    if watch:
        _watch(services, paths, as_json)
        return
    report = services.knowledge.ingest(paths, progress=progress)
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
        click.echo(
            f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
            f"removed {report.removed}; {report.chunks} passages"
        )
        for warning in report.warnings:
            info(f"warning: {warning['path']}: {warning['warning']}")
        for failure in report.failed:
            info(f"failed: {failure['path']}: {failure['error']}")


@click.command()
@home_option
@json_option
@reports_errors
def docs(home: str | None, as_json: bool) -> None:
    """List the documents in the knowledge base."""
    records = services_for(home).knowledge.documents()
    if as_json:
        emit_json([r.to_json() for r in records])
        return
    if not records:
        click.echo("No documents yet. Add some with: fieldmind ingest PATH")
    for r in records:
        pages = f"{r.pages} pages" if r.pages else "no pages"
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
@home_option
@json_option
@reports_errors
def search(query: str, k: int | None, home: str | None, as_json: bool) -> None:
    """Find passages (no model). QUERY of - reads one query a line from stdin, one JSON array a line out."""
    services = services_for(home)
    repaired, _ = services.open_knowledge()
    if repaired:
        info(f"index repaired: {repaired}")
    if query == "-":
        for line in sys.stdin:
            if line.strip():
                emit_json([p.to_json() for p in services.knowledge.search(line.strip(), k)])
                sys.stdout.flush()
        return
    passages = services.knowledge.search(query, k)
    if as_json:
        emit_json([p.to_json() for p in passages])
        return
    if not passages:
        click.echo("No passages found.")
    for n, p in enumerate(passages, start=1):
        click.echo(f"[{n}] {place(p.doc, p.page, p.section, last_heading=False)}  (score {p.score:.4f})")
        click.echo("    " + " ".join(p.text.split())[:400])
