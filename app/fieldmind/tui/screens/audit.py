"""The local audit log of sync: what was fetched and applied, from where, with which hashes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Log

from fieldmind.tui.access import fieldmind_app
from fieldmind.tui.widgets.footer import KeysFooter


class AuditScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="audit.back", tooltip="Back to the chat")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Log(id="audit", highlight=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        from fieldmind.sync.state import SyncPaths, read_audit

        log = self.query_one("#audit", Log)
        log.border_title = "Sync audit log"
        services = fieldmind_app(self).services
        events = read_audit(SyncPaths(services.settings.home)) if services is not None else []
        if not events:
            log.write_line("Nothing has been synced on this device yet.")
        for event in events:
            head = f"{event['time']}  {event['event']}  {event.get('pack', '*')} v{event.get('version', '-')}"
            log.write_line(f"{head}  from {event['source']}")
            if event.get("reason"):
                log.write_line(f"    reason: {event['reason']}")
            for item in event.get("files", []):
                log.write_line(f"    {item['sha256'][:16]}…  {item['length']:>10} bytes  {item['path']}")
        log.focus()
