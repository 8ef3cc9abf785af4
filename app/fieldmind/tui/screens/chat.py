"""The chat screen: a question box, the answer streaming in, and the passages it rests on beside it."""

from __future__ import annotations

import threading

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from fieldmind.tui.widgets.exchange import Exchange


class ChatScreen(Screen[None]):
    """Ask a question; see the sources as soon as retrieval is done, then the answer as it is written."""

    BINDINGS = [
        Binding("escape", "stop", "Stop answer", id="chat.stop", tooltip="Stop the answer being written"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield VerticalScroll(id="conversation")
            yield OptionList(id="sources")
        yield Input(placeholder="Ask about your manuals, then press Enter", id="question")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sources", OptionList).border_title = "Sources"
        self.query_one("#question", Input).focus()
        self.watch(self.app, "state", self._show_state)

    def _show_state(self, state: str) -> None:
        self.query_one("#status", Static).update(f"offline · {state}")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            return
        event.input.clear()
        exchange = Exchange(question)
        self.query_one("#conversation", VerticalScroll).mount(exchange)
        exchange.scroll_visible()
        self._stop.clear()
        self.answer(question, exchange)

    def action_stop(self) -> None:
        self._stop.set()

    @work(thread=True, exclusive=True, group="answer", exit_on_error=False)
    def answer(self, question: str, exchange: Exchange) -> None:
        from fieldmind.assistant import AnswerDone, AnswerPiece, SourcesReady

        app = self.app
        if not app.ready.is_set():  # type: ignore[attr-defined]
            self.app.call_from_thread(exchange.set_note, "waiting for the model to load…")
            app.ready.wait()  # type: ignore[attr-defined]
        if app.failed:  # type: ignore[attr-defined]
            self.app.call_from_thread(exchange.fail, app.failed)  # type: ignore[attr-defined]
            return
        try:
            assistant = app.services.assistant()  # type: ignore[attr-defined]
            for event in assistant.ask_stream(question, stop=self._stop.is_set):
                if isinstance(event, SourcesReady):
                    self.app.call_from_thread(self._show_sources, event.passages)
                elif isinstance(event, AnswerPiece):
                    self.app.call_from_thread(exchange.append, event.text)
                elif isinstance(event, AnswerDone):
                    self.app.call_from_thread(exchange.finish, event.answer)
        except Exception as exc:
            self.app.call_from_thread(exchange.fail, str(exc))

    def _show_sources(self, passages: list) -> None:  # type: ignore[type-arg]
        sources = self.query_one("#sources", OptionList)
        sources.clear_options()
        for n, p in enumerate(passages, start=1):
            where = f"{p.doc}, p. {p.page}" if p.page else p.doc
            section = f"\n  {p.section.split(' > ')[-1]}" if p.section else ""
            sources.add_option(Option(f"[{n}] {where}{section}", id=str(p.chunk_id)))
