"""The Fieldmind terminal app: paints at once, loads the embedder and model in a worker, then answers.

The app is handed its settings and, optionally, a factory for its services (tests hand it others). Every
blocking call runs in a thread worker that talks back through `call_from_thread`, so the screen never
freezes; worker errors become notifications, and the app stays open.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen

from fieldmind.knowledge.revisions import Scope
from fieldmind.knowledge.site import REFRESH_SECONDS
from fieldmind.llm.server import InferenceServer, ServerUnavailableError
from fieldmind.locations import shipped
from fieldmind.settings import Settings
from fieldmind.tui.commands import FieldmindCommands
from fieldmind.tui.messages import IndexCounted, ModelInUse, SiteChecked, StartStep, SyncChanged
from fieldmind.tui.screens.chat import ChatScreen
from fieldmind.warm import WarmServer
from fieldmind.welcome import welcome_for

if TYPE_CHECKING:
    from fieldmind.services import Services

ServicesFactory = Callable[[Settings], "Services"]


def _default_services(settings: Settings) -> Services:
    from fieldmind.services import Services

    return Services(settings)


class FieldmindApp(App[None]):
    """Ask your manuals; read the page each answer came from."""

    TITLE = "Fieldmind"
    SUB_TITLE = "offline"
    CSS_PATH = str(shipped("assets/fieldmind.tcss"))
    COMMANDS = App.COMMANDS | {FieldmindCommands}
    BINDINGS = [
        Binding("f1", "toggle_keys", "Keys", id="app.keys", tooltip="List every key of this screen"),
        Binding("f2", "library", "Library", id="app.library", tooltip="Documents: add, remove, see errors"),
        Binding("f3", "models", "Models", id="app.models", tooltip="Choose the language model"),
        Binding("f4", "history", "History", id="app.history", tooltip="Earlier conversations"),
        Binding("f5", "scope", "Scope", id="app.scope", tooltip="Ask only about one asset, model or fleet", show=False),
        Binding("ctrl+n", "new_conversation", "New", id="app.new", tooltip="Start a new conversation", show=False),
        Binding("ctrl+t", "toggle_theme", "Theme", id="app.theme", tooltip="Switch light and dark", show=False),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", tooltip="Leave Fieldmind"),
    ]

    state: reactive[str] = reactive("starting")
    """What the app is doing: starting, loading the embedder, loading the model, ready, or an error."""
    model_name: reactive[str] = reactive("")
    engine_state: reactive[str] = reactive("")
    """"" with no site inference server; else "server" (it words answers) or "local: why" (it does not)."""
    tokens_per_s: reactive[float] = reactive(0.0)
    index_size: reactive[str] = reactive("")
    sync_state: reactive[str] = reactive("offline")
    """idle / offline, checking, downloading n/m, applying, up to date as of …, rejected: …"""
    sync_progress: reactive[tuple[int, int]] = reactive((0, 0))
    site_state: reactive[str] = reactive("")
    """The site store: "" (none), "online", or "offline: …" (answering from this terminal's copy)."""
    scope_label: reactive[str] = reactive("")
    """The scope questions are asked within ("" for all documents)."""

    def __init__(self, settings: Settings, services_factory: ServicesFactory = _default_services) -> None:
        super().__init__()
        self.settings = settings
        self._services_factory = services_factory
        self._services: Services | None = None
        self.ready = threading.Event()
        self.welcoming = True
        """The first screen's words are shown (until the first question)."""
        self.failed: str | None = None
        self.theme = settings.ui.theme
        self.scope = Scope.parse(settings.ui.scope) if settings.ui.scope else None
        self.scope_label = self.scope.label() if self.scope else ""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications are plain text, whoever sends them: names and commands with brackets (`file[1].pdf`,
        `pip install 'fieldmind[large]'`) show as written instead of being read as markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    @property
    def services(self) -> Services:
        """The running services. Screens reach them only after start-up made them (the `ready` event)."""
        if self._services is None:
            raise RuntimeError("Fieldmind is still starting: its services are not made yet")
        return self._services

    def on_mount(self) -> None:
        if self.settings.ui.keymap:
            self.set_keymap(self.settings.ui.keymap)
        self.push_screen(ChatScreen())
        self.prepare()

    @work(thread=True, exclusive=True, group="prepare", exit_on_error=False)
    def prepare(self) -> None:
        """Open the knowledge base, offer the demo manual, load the embedder and the model."""
        try:
            self.post_message(StartStep("opening the knowledge base"))
            services = self._services_factory(self.settings)
            self._services = services
            repaired, report = services.open_knowledge()
            if repaired:
                self.call_from_thread(self.notify, repaired, title="Index repaired", severity="warning", timeout=15)
            if report is not None:
                self.call_from_thread(self.notify, f"Added the demo manual ({report.chunks} passages).")
            if services.knowledge.site is not None:
                self.post_message(SiteChecked(services.knowledge.site_state))
                self.call_from_thread(self.set_interval, REFRESH_SECONDS, self.mirror_site)
            self.refresh_index_size()
            self.post_message(StartStep("loading the embedder"))
            services.embedder.load()
            self._warm = WarmServer(self.settings.home, services.knowledge)
            self._warm.start()  # searches need no model: `fieldmind search` on this home asks this app from now
            self.post_message(StartStep("loading the model"))
            engine = services.use_model(self.settings.model.name)
            self.post_message(ModelInUse(engine.model.name))
            if services.server is not None:
                self.post_message(StartStep("checking the site's inference server"))
                self.follow_server(services.server)
            self.post_message(StartStep("ready"))
            self.call_from_thread(self.start_monitor)
        except Exception as exc:  # shown to the user; the app stays open
            self.failed = str(exc)
            self.post_message(StartStep(f"error: {exc}"))
            self.call_from_thread(self.notify, str(exc), title="Cannot start", severity="error", timeout=30)
        finally:
            self.ready.set()

    @work(thread=True, exclusive=True, group="site", exit_on_error=False)
    def mirror_site(self) -> None:
        """On a schedule, not as a side effect of a question: bring this terminal's copy of the site up to date."""
        if self._services is not None:
            self.post_message(SiteChecked(self._services.knowledge.refresh_site(force=True)))
            self.refresh_index_size()

    def follow_server(self, server: InferenceServer) -> None:
        """Check the site's inference server once (bounded), then show each change it goes through."""

        def show(up: bool) -> None:
            local = self._services.engine if self._services is not None else None
            self.model_name = server.name if up or local is None else local.model.name
            self.engine_state = "server" if up else f"local: {server.reason}"

        def changed(up: bool) -> None:
            try:
                self.call_from_thread(show, up)
            except RuntimeError:  # already on the app's own thread
                show(up)

        server.listeners.append(changed)
        try:
            server.health()
            changed(True)
        except ServerUnavailableError as exc:
            server.mark_down(str(exc))  # tells `changed`

    def on_unmount(self) -> None:
        if getattr(self, "_monitor", None) is not None:
            self._monitor.stop()
        if getattr(self, "_warm", None) is not None:
            self._warm.stop()
        if self._services is not None:
            self._services.close()

    def on_start_step(self, message: StartStep) -> None:
        self.state = message.step

    def on_model_in_use(self, message: ModelInUse) -> None:
        self.model_name = message.name
        self.tokens_per_s = 0.0

    def on_site_checked(self, message: SiteChecked) -> None:
        self.site_state = message.state

    def _sync_said(self, text: str) -> None:
        self.post_message(SyncChanged(text))

    def on_sync_changed(self, message: SyncChanged) -> None:
        self.sync_state = message.text
        self.sync_progress = (message.done, message.total)

    def refresh_index_size(self) -> None:
        """Recount documents and passages (from any thread)."""
        if self._services is None:
            return
        knowledge = self._services.knowledge
        counts = knowledge.counts()
        welcome = welcome_for(knowledge.documents()) if self.welcoming else None  # listed only while it shows
        noun = "doc" if counts["documents"] == 1 else "docs"
        counted = IndexCounted(f"{counts['documents']} {noun}, {counts['chunks']} passages", welcome)
        if threading.current_thread() is threading.main_thread():
            self.on_index_counted(counted)
        else:
            self.post_message(counted)

    def on_index_counted(self, counted: IndexCounted) -> None:
        self.index_size = counted.size
        chat = self.chat_screen()
        if chat is not None and counted.welcome is not None:
            chat.show_welcome(counted.welcome)

    def open_over_chat(self, screen: Screen[Any], callback: Callable[[Any], None] | None = None) -> None:
        """Open a screen straight over the chat (closing any other first), so Esc always returns to the question."""
        while len(self.screen_stack) > 2 and not isinstance(self.screen, ChatScreen):
            self.pop_screen()
        self.push_screen(screen, callback)

    def action_library(self) -> None:
        from fieldmind.tui.screens.library import LibraryScreen

        self.open_over_chat(LibraryScreen())

    def action_scope(self) -> None:
        from fieldmind.tui.screens.scope import ScopeScreen

        known: dict[str, set[str]] = {}
        if self._services is not None:
            for doc in self._services.knowledge.documents():
                for key, value in doc.tags.items():
                    known.setdefault(key, set()).add(value)

        def chosen(scope: Scope | None) -> None:
            from fieldmind.settings import save_setting

            self.scope = scope or None
            self.scope_label = self.scope.label() if self.scope else ""
            pairs = [f"{k}={v}" for k, v in sorted(self.scope.tags.items())] if self.scope else []
            save_setting(self.settings, "ui.scope", pairs)
            self.notify(f"Asking about {self.scope.label() if self.scope else 'all documents'}.", title="Scope")

        self.open_over_chat(ScopeScreen(self.scope, known), chosen)

    def action_models(self) -> None:
        from fieldmind.tui.screens.models import ModelsScreen

        self.open_over_chat(ModelsScreen())

    def action_history(self) -> None:
        from fieldmind.tui.screens.history import HistoryScreen

        self.open_over_chat(HistoryScreen())

    def action_new_conversation(self) -> None:
        chat = self.chat_screen()
        if chat is not None:
            chat.new_conversation()

    def start_monitor(self) -> None:
        """Sync by itself when the configured source becomes reachable (a link, a USB stick)."""
        source = self.settings.sync.source
        if not source or getattr(self, "_monitor", None) is not None:
            return
        from fieldmind.sync.monitor import ConnectivityMonitor

        self._monitor = ConnectivityMonitor(
            source,
            on_reachable=lambda: self.call_from_thread(self.run_sync),
            on_state=self._sync_said,
            interval=self.settings.sync.check_interval_s,
        )
        self._monitor.start()

    def action_sync_log(self) -> None:
        from fieldmind.tui.screens.audit import AuditScreen

        self.open_over_chat(AuditScreen())

    def action_sync_now(self) -> None:
        if not self.settings.sync.source:
            self.notify("No sync source is configured (sync.source in config.toml, or fieldmind sync --source).")
            return
        self.run_sync()

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def run_sync(self) -> None:
        """Pull signed knowledge updates from the configured source while questions keep being answered."""
        from fieldmind.tui.syncing import sync_in_worker

        sync_in_worker(self)

    def action_toggle_keys(self) -> None:
        """F1: every key of the screen and of the app, with what it does (the footer has room for the main ones)."""
        from fieldmind.tui.screens.keys import KeysScreen, key_rows

        if not isinstance(self.screen, KeysScreen):
            self.push_screen(KeysScreen(key_rows(self.screen, self.BINDINGS)))

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def chat_screen(self) -> ChatScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, ChatScreen)), None)
