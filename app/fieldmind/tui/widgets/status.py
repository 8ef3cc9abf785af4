"""The status bar: the model and its speed, the index size, sync state, and the offline indicator."""

from __future__ import annotations

from textual.widgets import Static

from fieldmind.tui.access import fieldmind_app


class StatusBar(Static):
    """Follows the app's reactive state; never blocks."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $boost; color: $text-muted; padding: 0 1; }
    """

    def on_mount(self) -> None:
        for name in (
            "state",
            "model_name",
            "engine_state",
            "tokens_per_s",
            "index_size",
            "sync_state",
            "sync_progress",
            "scope_label",
            "site_state",
        ):
            self.watch(self.app, name, self._refresh_text, init=False)
        self._refresh_text()

    def _refresh_text(self, _value: object = None) -> None:
        app = fieldmind_app(self)
        network = "● offline" if app.sync_state in ("offline", "idle", "") else f"◆ {app.sync_state}"
        done, total = app.sync_progress
        if total:
            filled = int(10 * done / total)
            network += " [" + "█" * filled + "░" * (10 - filled) + "]"
        model = app.model_name or "no model"
        if app.engine_state == "server":
            model += " (site server)"
        elif app.engine_state:
            model += " (this laptop; site server unreachable)"
        speed = f" {app.tokens_per_s:.0f} tok/s" if app.tokens_per_s else ""
        state = "" if app.state == "ready" else f" · {app.state}"
        index = f" · {app.index_size}" if app.index_size else ""
        scope = f" · scope {app.scope_label}" if app.scope_label else ""
        if app.site_state:
            scope += " · site ✓" if app.site_state == "online" else " · site offline (local copy)"
        self.update(f"{network} · {model}{speed}{index}{scope}{state}")
