"""Earlier conversations: reopen one, export it to Markdown, or wipe them all."""

from __future__ import annotations

import time
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList
from textual.widgets.option_list import Option

from fieldmind.tui.screens.confirm import ConfirmScreen


def stamp(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


class HistoryScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="history.back", tooltip="Back to the chat"),
        Binding("e", "export", "Export", id="history.export", tooltip="Save the selected conversation as Markdown"),
        Binding("w", "wipe", "Wipe all", id="history.wipe", tooltip="Erase every conversation from this device"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield OptionList(id="conversations")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_list()
        self.query_one("#conversations", OptionList).focus()

    def refresh_list(self) -> None:
        listing = self.query_one("#conversations", OptionList)
        listing.clear_options()
        services: Any = self.app.services  # type: ignore[attr-defined]
        conversations = services.history.conversations() if services is not None else []
        for conversation in conversations:
            listing.add_option(Option(f"{stamp(conversation.updated)}  {conversation.title}", id=str(conversation.id)))
        listing.border_title = f"Conversations ({len(conversations)})"

    @on(OptionList.OptionSelected, "#conversations")
    def reopen(self, event: OptionList.OptionSelected) -> None:
        conversation = self.app.services.history.load(int(event.option.id or 0))  # type: ignore[attr-defined]
        chat = self.app.chat_screen()  # type: ignore[attr-defined]
        self.app.pop_screen()
        if conversation is not None and chat is not None:
            chat.show_conversation(conversation)

    def _selected(self) -> int | None:
        listing = self.query_one("#conversations", OptionList)
        if listing.highlighted is None:
            return None
        return int(listing.get_option_at_index(listing.highlighted).id or 0)

    def action_export(self) -> None:
        from fieldmind.history import to_markdown

        selected = self._selected()
        if selected is None:
            return
        services: Any = self.app.services  # type: ignore[attr-defined]
        folder = services.settings.home / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"conversation-{selected}.md"
        path.write_text(to_markdown(services.history.load(selected)), encoding="utf-8")
        self.notify(f"Saved {path}", title="Exported")

    def action_wipe(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self.app.services.history.wipe()  # type: ignore[attr-defined]
                chat = self.app.chat_screen()  # type: ignore[attr-defined]
                if chat is not None:
                    chat.new_conversation()
                self.refresh_list()
                self.notify("Every conversation was erased from this device.")

        self.app.push_screen(
            ConfirmScreen("Erase every conversation from this device? This cannot be undone."), confirmed
        )
