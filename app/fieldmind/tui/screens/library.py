"""The library: documents with pages, passages and source; add a path with progress; remove with confirmation."""

from __future__ import annotations

import threading
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Label, Log, ProgressBar

from fieldmind.knowledge.progress import IngestProgress
from fieldmind.tui.access import fieldmind_app
from fieldmind.tui.screens.confirm import ConfirmScreen
from fieldmind.tui.widgets.footer import KeysFooter


class LibraryScreen(Screen[None]):
    BINDINGS = [
        Binding(
            "escape",
            "back_or_cancel",
            "Back",
            id="library.back",
            tooltip="Cancel an ingest, or go back",
        ),
        Binding("a", "add", "Add path", id="library.add", tooltip="Ingest a file or folder"),
        Binding("delete,d", "remove", "Remove", id="library.remove", tooltip="Remove the selected document"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()
        self._ingesting = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="library"):
            yield DataTable(id="documents", cursor_type="row", zebra_stripes=True)
            yield Input(placeholder="Path of a file or folder to add, then Enter", id="path")
            yield ProgressBar(id="progress", show_eta=False)
            yield Label("", id="progress-label")
            yield Log(id="errors", max_lines=500)
        yield KeysFooter()

    def on_mount(self) -> None:
        table = self.query_one("#documents", DataTable)
        table.add_columns("Document", "Revision", "Pages", "OCR", "No text", "Passages", "Tags", "Source")
        self.query_one("#errors", Log).border_title = "Problems"
        self.query_one("#progress", ProgressBar).display = False
        self.refresh_documents()
        table.focus()

    def refresh_documents(self) -> None:
        table = self.query_one("#documents", DataTable)
        table.clear()
        services = fieldmind_app(self).services
        if services is None:
            return
        for doc in services.knowledge.documents():
            revision = " ".join(filter(None, [doc.revision, doc.effective])) or "—"
            table.add_row(
                doc.name,
                f"{revision} (superseded)" if doc.superseded else revision,
                str(doc.pages or "—"),
                str(doc.ocr_pages or "—"),
                str(doc.blank_pages or "—"),
                str(doc.chunks),
                " ".join(f"{k}={v}" for k, v in sorted(doc.tags.items())) or "—",
                doc.source,
                key=doc.id,
            )
        table.border_title = f"Documents ({table.row_count})"

    def action_add(self) -> None:
        self.query_one("#path", Input).focus()

    @on(Input.Submitted, "#path")
    def add_path(self, event: Input.Submitted) -> None:
        raw = event.value.strip()
        if not raw or self._ingesting:
            return
        event.input.clear()
        self._cancel.clear()
        self._ingesting = True
        self.query_one("#progress", ProgressBar).display = True
        self.query_one("#errors", Log).clear()
        self.ingest(Path(raw).expanduser())

    @work(thread=True, exclusive=True, group="ingest", exit_on_error=False)
    def ingest(self, path: Path) -> None:
        app = fieldmind_app(self)
        bar = self.query_one("#progress", ProgressBar)
        label = self.query_one("#progress-label", Label)

        def progress(event: IngestProgress) -> None:
            if event.steps_total:  # within a long file: the bar follows its scanned pages or passages
                app.call_from_thread(bar.update, total=event.steps_total, progress=event.steps_done)
            else:
                app.call_from_thread(bar.update, total=event.files_total, progress=event.files_done)
            app.call_from_thread(label.update, event.describe())

        try:
            app.call_from_thread(label.update, f"reading {path}…")
            report = app.services.knowledge.ingest([path], progress=progress, cancelled=self._cancel.is_set)
        except Exception as exc:
            app.call_from_thread(self.notify, str(exc), title="Ingest failed", severity="error")
            app.call_from_thread(label.update, f"not added: {exc}")
            return
        finally:
            self._ingesting = False
            if bar.total is None:  # nothing was counted (a bad path): no bar animating forever
                app.call_from_thread(self._hide_progress)
        log = self.query_one("#errors", Log)
        for failure in report.failed:
            app.call_from_thread(log.write_line, f"✗ {failure['path']}: {failure['error']}")
        for warning in report.warnings:
            app.call_from_thread(log.write_line, f"! {warning['path']}: {warning['warning']}")
        summary = report.summary()
        app.call_from_thread(label.update, summary)
        app.call_from_thread(self.refresh_documents)
        app.refresh_index_size()
        app.call_from_thread(
            app.notify,
            summary,
            title="Ingest finished",
            severity="warning" if report.failed else "information",
        )

    def action_back_or_cancel(self) -> None:
        if self._ingesting:
            self._cancel.set()
            self.notify("Stopping after the current file or scanned page…")
        else:
            self.app.pop_screen()

    def action_remove(self) -> None:
        table = self.query_one("#documents", DataTable)
        if table.row_count == 0:
            return
        row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        doc_id = str(row_key.value)
        name = table.get_row(row_key)[0]

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.remove_document(doc_id, str(name))

        self.app.push_screen(ConfirmScreen(f"Remove {name} and its passages from the knowledge base?"), confirmed)

    def _hide_progress(self) -> None:
        self.query_one("#progress", ProgressBar).display = False

    @work(thread=True, group="remove", exit_on_error=False)
    def remove_document(self, doc_id: str, name: str) -> None:
        """In a worker: removing may wait for another process's write, or take the site's lease over HTTP."""
        app = fieldmind_app(self)
        try:
            removed, _ = app.services.knowledge.remove([doc_id])
        except Exception as exc:
            app.call_from_thread(self.notify, str(exc), title="Not removed", severity="error")
            return
        app.call_from_thread(self.notify, f"Removed {name}" if removed else f"{name} was already gone")
        app.call_from_thread(self.refresh_documents)
        app.refresh_index_size()
