"""F1: every key of the screen below and of the app, with what it does — the footer shows only the main ones."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static


def key_rows(screen: Screen[object], app_bindings: list[BindingType]) -> list[tuple[str, str, str]]:
    """(keys, name, what it does) for the screen's own bindings, then the app's, each key once."""
    rows, seen = [], set()
    for binding in [*screen.BINDINGS, *app_bindings]:
        if not isinstance(binding, Binding) or binding.key in seen:
            continue
        seen.add(binding.key)
        keys = ", ".join(_shown(k) for k in binding.key.split(","))
        rows.append((keys, binding.description, binding.tooltip))
    return rows


NAMES = {"ctrl+": "Ctrl+", "escape": "Esc", "delete": "Del", "pagedown": "PgDn", "pageup": "PgUp"}


def _shown(key: str) -> str:
    """A key as printed on a keyboard: F1, Ctrl+S, Esc, PgDn, A."""
    if key == "equals_sign":
        return "="
    for name, printed in NAMES.items():
        key = key.replace(name, printed)
    head, plus, last = key.rpartition("+")
    return head + plus + (last.upper() if len(last) <= 2 else last)


class KeysScreen(ModalScreen[None]):
    """The keys of the screen it was opened over; Esc or F1 closes it."""

    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close", id="keys.close")]

    DEFAULT_CSS = """
    KeysScreen { align: center middle; }
    #keys { width: 90%; max-width: 100; height: auto; max-height: 90%; border: thick $accent; background: $surface; }
    #keys DataTable { height: auto; max-height: 20; }
    #keys Static { color: $text-muted; padding: 0 1; }
    """

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="keys"):
            yield DataTable(cursor_type="row", show_cursor=False)
            yield Static("Ctrl+P searches every command by name. Esc closes this list.")

    def on_mount(self) -> None:
        self.query_one("#keys").border_title = "Keys"
        table = self.query_one(DataTable)
        table.add_columns("Key", "Does", "")
        table.add_rows(self.rows)
