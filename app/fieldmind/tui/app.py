"""The Fieldmind terminal app: paints at once, loads the embedder and model in a worker, then answers.

The app is handed its settings (and, in tests, its services); every blocking call runs in a thread worker
that talks back only through `call_from_thread`, so the screen never freezes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive

from fieldmind.locations import shipped
from fieldmind.settings import Settings
from fieldmind.tui.screens.chat import ChatScreen

ServicesFactory = Callable[[Settings], object]


def _default_services(settings: Settings) -> object:
    from fieldmind.services import Services

    return Services(settings)


class FieldmindApp(App[None]):
    """Ask your manuals; read the page each answer came from."""

    TITLE = "Fieldmind"
    CSS_PATH = str(shipped("assets/fieldmind.tcss")) if shipped("assets/fieldmind.tcss").exists() else None
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit", tooltip="Leave Fieldmind"),
    ]

    state: reactive[str] = reactive("starting")
    """starting, loading the embedder, loading the model, ready, or an error message."""

    def __init__(self, settings: Settings, services_factory: ServicesFactory = _default_services) -> None:
        super().__init__()
        self.settings = settings
        self._services_factory = services_factory
        self.services: object | None = None
        self.ready = threading.Event()
        self.failed: str | None = None

    def on_mount(self) -> None:
        self.push_screen(ChatScreen())
        self.prepare()

    @work(thread=True, exclusive=True, group="prepare", exit_on_error=False)
    def prepare(self) -> None:
        """Open the knowledge base, offer the demo manual, load the embedder and the model."""
        try:
            self._set_state("opening the knowledge base")
            services = self._services_factory(self.settings)
            self.services = services
            report = services.ensure_demo_knowledge()  # type: ignore[attr-defined]
            if report is not None:
                self.call_from_thread(self.notify, f"Added the demo manual ({report.chunks} passages).")
            self._set_state("loading the embedder")
            services.embedder.load()  # type: ignore[attr-defined]
            self._set_state("loading the model")
            services.engine().load()  # type: ignore[attr-defined]
            self._set_state("ready")
        except Exception as exc:  # shown to the user; the app stays open
            self.failed = str(exc)
            self._set_state(f"error: {exc}")
            self.call_from_thread(self.notify, str(exc), title="Cannot start", severity="error", timeout=30)
        finally:
            self.ready.set()

    def _set_state(self, state: str) -> None:
        self.call_from_thread(setattr, self, "state", state)

    @property
    def home(self) -> Path:
        return self.settings.home
