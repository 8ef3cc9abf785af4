"""Earlier conversations: reopen one, export it to Markdown, or wipe them all."""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, OptionList
from textual.widgets.option_list import Option

from fieldmind.tui.access import fieldmind_app
from fieldmind.tui.screens.confirm import ConfirmScreen
from fieldmind.tui.widgets.footer import KeysFooter


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
        yield KeysFooter()

    def on_mount(self) -> None:
        self.refresh_list()
        self.query_one("#conversations", OptionList).focus()

    def refresh_list(self) -> None:
        listing = self.query_one("#conversations", OptionList)
        listing.clear_options()
        services = fieldmind_app(self).services
        conversations = services.history.conversations() if services is not None else []
        for conversation in conversations:
            listing.add_option(Option(f"{stamp(conversation.updated)}  {conversation.title}", id=str(conversation.id)))
        listing.border_title = f"Conversations ({len(conversations)})"
        if conversations:
            listing.highlighted = 0  # the latest: `e` exports it without a row chosen first

    @on(OptionList.OptionSelected, "#conversations")
    def reopen(self, event: OptionList.OptionSelected) -> None:
        conversation = fieldmind_app(self).services.history.load(int(event.option.id or 0))
        chat = fieldmind_app(self).chat_screen()
        self.app.pop_screen()
        if conversation is not None and chat is not None:
            chat.show_conversation(conversation)

    def _selected(self) -> int | None:
        listing = self.query_one("#conversations", OptionList)
        if listing.highlighted is None:
            return None
        return int(listing.get_option_at_index(listing.highlighted).id or 0)

    def action_export(self) -> None:
        from fieldmind.errors import FieldmindError
        from fieldmind.history import export_markdown

        selected = self._selected()
        if selected is None:
            self.notify("No conversation to export yet.")
            return
        services = fieldmind_app(self).services
        try:
            path = export_markdown(services.history, selected, services.settings.home / "exports")
        except FieldmindError as exc:
            self.notify(str(exc), title="Not exported", severity="warning")
            return
        self.notify(f"Saved {path}", title="Exported")

    def action_wipe(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                fieldmind_app(self).services.history.wipe()
                chat = fieldmind_app(self).chat_screen()
                if chat is not None:
                    chat.new_conversation()
                self.refresh_list()
                self.notify("Every conversation was erased from this device.")

        self.app.push_screen(
            ConfirmScreen("Erase every conversation from this device? This cannot be undone."), confirmed
        )
