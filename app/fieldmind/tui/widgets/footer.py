"""The footer every screen shows: compact, so the keys a technician needs fit 80 columns; F1 lists the rest."""

from __future__ import annotations

from textual.widgets import Footer


class KeysFooter(Footer):
    """The screen's main keys in one line at 80 columns; every other key is in F1's list (and Ctrl+P's)."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)
