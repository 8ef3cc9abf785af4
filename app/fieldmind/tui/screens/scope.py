"""Choosing a scope: which asset, model or fleet questions are about (remembered in the settings)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from fieldmind.errors import FieldmindError
from fieldmind.knowledge.revisions import Scope


class ScopeScreen(ModalScreen[Scope | None]):
    """Type tags (`asset=N123AB`), empty for all documents; the tags the library holds are listed."""

    DEFAULT_CSS = """
    ScopeScreen { align: center middle; }
    ScopeScreen > Vertical { width: 72; height: auto; border: round $accent; padding: 1 2; background: $surface; }
    ScopeScreen #scope-known { color: $text-muted; margin-top: 1; }
    ScopeScreen #scope-error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="scope.cancel")]

    def __init__(self, current: Scope | None, known: dict[str, set[str]]) -> None:
        super().__init__()
        self.current = current
        self.known = known

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Scope: only documents tagged so, plus untagged general ones. Empty: all documents.")
            yield Input(
                value=self.current.label() if self.current else "", placeholder="asset=N123AB model=GX-7500", id="scope"
            )
            known = "; ".join(f"{k}: {', '.join(sorted(v))}" for k, v in sorted(self.known.items()))
            yield Static(f"Tags in the library — {known}" if known else "No document is tagged yet.", id="scope-known")
            yield Static("", id="scope-error")

    @on(Input.Submitted, "#scope")
    def chosen(self, event: Input.Submitted) -> None:
        try:
            scope = Scope.parse(event.value.split())
        except FieldmindError as exc:
            self.query_one("#scope-error", Static).update(str(exc))
            return
        self.dismiss(scope)

    def action_cancel(self) -> None:
        self.dismiss(self.current)
