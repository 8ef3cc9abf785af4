"""Command palette entries for every action of the app."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from fieldmind.tui.access import fieldmind_app

ACTIONS = [
    ("Library: documents, add, remove", "library", "See the documents; ingest a file or folder; remove one"),
    ("Models: choose the language model", "models", "The catalogue; switch models without stopping"),
    ("History: earlier conversations", "history", "Reopen, export or wipe conversations"),
    ("New conversation", "new_conversation", "Clear the chat and start again"),
    ("Scope: ask about one asset, model or fleet", "scope", "Limit answers to documents tagged so (F5)"),
    ("Answer card for the work order", "chat_card", "Save the last answer with its source and revision"),
    ("Toggle light / dark theme", "toggle_theme", "Switch between light and dark"),
    (
        "Export this conversation to Markdown",
        "chat_export",
        "Save the current conversation with its citations",
    ),
    ("Stop the answer", "chat_stop", "Stop the answer being written"),
    ("Sync knowledge now", "sync_now", "Check the configured source for signed updates"),
    ("Sync audit log", "sync_log", "What sync fetched and applied, with hashes"),
    ("Quit", "quit", "Leave Fieldmind"),
]


class FieldmindCommands(Provider):
    """Every app action, by name."""

    async def _run(self, action: str) -> None:
        app = fieldmind_app(self)
        if action.startswith("chat_"):
            chat = app.chat_screen()
            if chat is not None:
                await chat.run_action(action[5:])
            return
        await app.run_action(action)

    async def discover(self) -> Hits:
        for title, action, help_text in ACTIONS:
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in ACTIONS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action), help=help_text)
