"""The model catalogue: installed or not, size, whether it fits this machine, the active one; switch in place."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label

from fieldmind.tui.access import fieldmind_app
from fieldmind.tui.messages import ModelInUse
from fieldmind.tui.widgets.footer import KeysFooter

USE_NOTE = "Enter loads the selected model; the current one keeps answering meanwhile."


class ModelsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="models.back", tooltip="Back to the chat"),
        Binding("enter", "use", "Use model", id="models.use", tooltip="Load the selected model and answer with it"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="models", cursor_type="row", zebra_stripes=True)
        yield Label(USE_NOTE, id="models-note", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        table = self.query_one("#models", DataTable)
        table.add_columns("Model", "Size", "Installed", "Fits", "Active")
        self.refresh_models()
        table.focus()

    def refresh_models(self) -> None:
        from fieldmind.llm.catalog import fits

        table = self.query_one("#models", DataTable)
        table.clear()
        services = fieldmind_app(self).services
        if services is None:
            return
        active = fieldmind_app(self).model_name or services.settings.model.name
        for entry in services.catalog:
            table.add_row(
                entry.name,
                entry.megabytes(),
                "yes"
                if services.catalog.is_installed(entry)
                else "on first use"
                if services.catalog.is_available(entry)
                else "no: see below",
                "yes" if fits(entry) else "no",
                "●" if entry.name == active else "",
                key=entry.name,
            )

    @on(DataTable.RowHighlighted, "#models")
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Under the table: how to use the highlighted model, or how to bring it to this machine."""
        services = fieldmind_app(self).services
        entry = services.catalog.entries.get(str(event.row_key.value))
        note = USE_NOTE
        if entry is not None and not services.catalog.is_available(entry):
            note = f"{entry.name} is not on this machine. To add it, {entry.how_to_add()}."
        self.query_one("#models-note", Label).update(note)

    def action_use(self) -> None:
        table = self.query_one("#models", DataTable)
        if table.row_count:
            self._use(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))

    @on(DataTable.RowSelected, "#models")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        self._use(str(event.row_key.value))

    def _use(self, name: str) -> None:
        self.notify(f"Loading {name}…")
        self.switch(name)

    @work(thread=True, exclusive=True, group="model", exit_on_error=False)
    def switch(self, name: str) -> None:
        from fieldmind.settings import save_setting

        app = fieldmind_app(self)
        try:
            app.services.use_model(name)  # the old engine keeps answering while this one loads
            save_setting(app.services.settings, "model.name", name)
        except Exception as exc:
            app.call_from_thread(app.notify, str(exc), title="Model not loaded", severity="error", timeout=20)
            return
        app.post_message(ModelInUse(name))
        app.call_from_thread(app.notify, f"Now answering with {name}.", title="Model ready")
        app.call_from_thread(self.refresh_models)
