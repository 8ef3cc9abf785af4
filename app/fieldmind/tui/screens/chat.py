"""The chat screen: a question box, the answer streaming in, and the passages it rests on beside it.

Sources appear as soon as retrieval is done, before the model's first word. Esc stops an answer: what was
written stays, marked stopped, and the prompt is ready for the next question at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Input, OptionList
from textual.widgets.option_list import Option

from fieldmind.tui.access import fieldmind_app
from fieldmind.tui.messages import SiteChecked
from fieldmind.tui.widgets.exchange import ExchangeView
from fieldmind.tui.widgets.footer import KeysFooter
from fieldmind.tui.widgets.status import StatusBar
from fieldmind.tui.widgets.welcome import WelcomeView
from fieldmind.welcome import Welcome

if TYPE_CHECKING:
    from fieldmind.answers.quote import Quote
    from fieldmind.assistant import Answer
    from fieldmind.history import Conversation
    from fieldmind.knowledge.context import PageContext
    from fieldmind.knowledge.retrieve import Passage


class ChatScreen(Screen[None]):
    """Ask a question; see the sources, then the answer as it is written."""

    BINDINGS = [
        Binding("ctrl+s", "focus_sources", "Sources", id="chat.sources", tooltip="Move to the sources list"),
        Binding("ctrl+o", "open_quote", "Quote", id="chat.open_quote", tooltip="Show the page the last answer quotes"),
        Binding(
            "ctrl+g",
            "quote_picture",
            "Picture",
            id="chat.picture",
            tooltip="The quoted page as printed, the quote marked",
        ),
        Binding("escape", "stop", "Stop answer", id="chat.stop", tooltip="Stop the answer being written", show=False),
        Binding(
            "ctrl+e",
            "export",
            "Export",
            id="chat.export",
            tooltip="Save this conversation as Markdown",
            show=False,
        ),
        Binding("ctrl+b", "card", "Card", id="chat.card", tooltip="Save the answer as a work-order card", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.passages: dict[str, Passage] = {}
        self.conversation_id: int | None = None
        self._current: ExchangeView | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with VerticalScroll(id="conversation"):
                yield WelcomeView()
            yield OptionList(id="sources")
        yield Input(placeholder="Ask about your manuals, then press Enter", id="question")
        yield StatusBar(id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        sources = self.query_one("#sources", OptionList)
        sources.border_title = "Sources"
        sources.border_subtitle = "Enter: open page"
        self.query_one("#question", Input).focus()

    def on_screen_resume(self) -> None:
        """Back from a page, the library or any other screen: typing goes to the question box again."""
        self.query_one("#question", Input).focus()

    # -- asking ------------------------------------------------------------------------------------------
    def show_welcome(self, welcome: Welcome) -> None:
        """What is loaded and what to try, while the conversation is still empty."""
        for view in self.query(WelcomeView):
            view.show(welcome)

    @on(Input.Submitted, "#question")
    def submitted(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if question:
            event.input.clear()
            self.ask(question)

    @on(WelcomeView.Picked)
    def picked(self, event: WelcomeView.Picked) -> None:
        self.query_one("#question", Input).focus()
        self.ask(event.question)

    def ask(self, question: str) -> None:
        """Stop the answer being written, if any, and answer this question below the conversation."""
        self.query(WelcomeView).remove()
        fieldmind_app(self).welcoming = False
        if self._current is not None:
            self._current.stop.set()  # a new question stops the answer being written
        exchange = ExchangeView(question)
        self._current = exchange
        self.query_one("#conversation", VerticalScroll).mount(exchange)
        exchange.scroll_visible()
        self.answer(question, exchange)

    def action_stop(self) -> None:
        if self._current is not None:
            self._current.stop.set()
        self.query_one("#question", Input).focus()

    def action_focus_sources(self) -> None:
        self.query_one("#sources", OptionList).focus()

    @work(thread=True, group="answer", exit_on_error=False)
    def answer(self, question: str, exchange: ExchangeView) -> None:
        from fieldmind.assistant import AnswerDone, AnswerPiece, QuoteReady, SourcesReady

        app = fieldmind_app(self)
        if not app.ready.is_set():
            app.call_from_thread(exchange.set_note, "waiting for the model to load…")
            app.ready.wait()
        if app.failed:
            app.call_from_thread(exchange.fail, app.failed)
            return
        try:
            assistant = app.services.assistant()
            for event in assistant.ask_stream(question, stop=exchange.stop.is_set, scope=app.scope):
                if isinstance(event, SourcesReady):
                    app.call_from_thread(self.show_sources, event.passages, [])
                elif isinstance(event, QuoteReady):
                    app.call_from_thread(exchange.show_quote, event.quote, event.closest)
                elif isinstance(event, AnswerPiece):
                    app.call_from_thread(exchange.append, event.text)
                elif isinstance(event, AnswerDone):
                    app.post_message(SiteChecked(app.services.knowledge.site_state))
                    self._save(event.answer)
                    app.refresh_index_size()  # here, off the UI thread: another process may have added documents
                    app.call_from_thread(self._finished, exchange, event.answer)
        except Exception as exc:
            app.call_from_thread(exchange.fail, str(exc))

    def _save(self, answer: Answer) -> None:
        from fieldmind.history import Exchange

        history = fieldmind_app(self).services.history
        if self.conversation_id is None:
            self.conversation_id = history.start(answer.question)
        history.add(self.conversation_id, Exchange.of(answer))

    def _finished(self, exchange: ExchangeView, answer: Answer) -> None:
        exchange.finish(answer)
        self.show_sources(answer.passages, answer.citations)
        app = fieldmind_app(self)
        rate = answer.timings.to_json()["tokens_per_s"]
        if rate:
            app.tokens_per_s = rate
        if app.services.server is not None and answer.model:
            app.model_name = answer.model
            app.engine_state = "server" if answer.engine == "server" else f"local: {app.services.server.reason}"

    def show_sources(self, passages: list[Passage], cited: list[Passage]) -> None:
        """List passages, the cited ones first and marked."""
        sources = self.query_one("#sources", OptionList)
        sources.clear_options()
        self.passages = {}
        width = max(12, sources.scrollable_content_region.width - 1)  # inside its border, beside the scroll bar
        cited_ids = [p.chunk_id for p in cited]
        ordered = cited + [p for p in passages if p.chunk_id not in cited_ids]
        for n, passage in enumerate(ordered, start=1):
            page = f"p. {passage.page} " if passage.page else ""
            section = passage.section.split(" > ")[-1] if passage.section else ""
            mark = "✓" if passage.chunk_id in cited_ids else " "
            scanned = f" · OCR {passage.ocr:.0%}" if passage.ocr is not None else ""
            head = f"{mark}[{n}] {page}"
            label = Text.assemble(  # the file name never breaks mid-word: too long, its middle gives way to "…"
                head,
                (section, "bold"),
                "\n",
                (_fit(passage.doc, width - len(scanned)), "dim"),
                (scanned, "italic yellow"),
            )
            self.passages[str(passage.chunk_id)] = passage
            sources.add_option(Option(label, id=str(passage.chunk_id)))
        if ordered:
            sources.highlighted = 0

    @on(OptionList.OptionSelected, "#sources")
    def open_source(self, event: OptionList.OptionSelected) -> None:
        from fieldmind.tui.screens.source import SourceScreen

        passage = self.passages.get(event.option.id or "")
        if passage is not None:
            context = fieldmind_app(self).services.knowledge.context(passage)
            quote = self._current.quote if self._current is not None else None
            self.app.push_screen(SourceScreen(with_quote(context, passage, quote), passage.doc_id, passage.page))

    def action_open_quote(self) -> None:
        """The page of the last answer's quote, the quoted words highlighted."""
        from fieldmind.tui.screens.source import SourceScreen

        quote = self._current.quote if self._current is not None else None
        if quote is None:
            self.notify("No quote to open: the last answer was not found in your documents.")
            return
        passage = next((p for p in self.passages.values() if p.doc_id == quote.doc_id and p.page == quote.page), None)
        if passage is None:
            self.notify("The quoted page is not among the sources any more.")
            return
        context = fieldmind_app(self).services.knowledge.context(passage)
        self.app.push_screen(SourceScreen(with_quote(context, passage, quote), passage.doc_id, passage.page))

    def action_card(self) -> None:
        """The last answer as an answer card (Markdown and JSON) in `<home>/cards/`."""
        from fieldmind.assistant import Answer
        from fieldmind.cards import card_for
        from fieldmind.files import write_atomic

        answer = self._current.answer if self._current is not None else None
        if not isinstance(answer, Answer) or answer.quote is None:
            self.notify("No answer card: the last answer was not found in your documents (or is not finished).")
            return
        app = fieldmind_app(self)
        try:
            card = card_for(answer, app.services.knowledge)
        except Exception as exc:
            self.notify(str(exc), severity="error")
            return
        folder = app.services.settings.home / "cards"
        stem = folder / (card.time[:19].replace(":", "").replace("-", "") + "-" + _slug(answer.question))
        write_atomic(stem.with_suffix(".md"), card.render("md"))
        write_atomic(stem.with_suffix(".json"), card.render("json"))
        self.notify(f"Saved {stem}.md (and .json)", title="Answer card")

    def action_quote_picture(self) -> None:
        """The page of the last answer's quote as a picture, the quoted words marked."""
        from fieldmind.tui.screens.page import PageScreen

        quote = self._current.quote if self._current is not None else None
        if quote is None or quote.page is None:
            self.notify("No quoted page to show: the last answer was not found, or its document has no pages.")
            return
        more = quote.continued.text if quote.continued else None
        self.app.push_screen(PageScreen(quote.doc_id, quote.page, quote.text, quote.where, continued=more))

    # -- conversations -----------------------------------------------------------------------------------
    def new_conversation(self) -> None:
        self.action_stop()
        self.conversation_id = None
        self._current = None
        self.query_one("#conversation", VerticalScroll).remove_children()
        self.query_one("#sources", OptionList).clear_options()
        self.query_one("#question", Input).focus()

    def show_conversation(self, conversation: Conversation) -> None:
        """Reopen a saved conversation; new questions continue it."""
        self.new_conversation()
        self.conversation_id = conversation.id
        container = self.query_one("#conversation", VerticalScroll)
        for saved in conversation.exchanges:
            view = ExchangeView(saved.question)
            container.mount(view)
            view.restore(saved)

    def action_export(self) -> None:
        from fieldmind.errors import FieldmindError
        from fieldmind.history import export_markdown

        if self.conversation_id is None:
            self.notify("Nothing to export yet: ask a question first.")
            return
        services = fieldmind_app(self).services
        try:
            path = export_markdown(services.history, self.conversation_id, services.settings.home / "exports")
        except FieldmindError as exc:
            self.notify(str(exc), title="Not exported", severity="warning")
            return
        self.notify(f"Saved {path}", title="Exported")


def _fit(name: str, width: int) -> str:
    """A file name in `width` cells: whole, or its start and end around "…" (the end says what kind of file)."""
    if len(name) <= width:
        return name
    tail = max(4, (width - 1) // 3)
    return name[: max(1, width - 1 - tail)] + "…" + name[-tail:]


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "answer"


def with_quote(context: PageContext, passage: Passage, quote: Quote | None) -> PageContext:
    """The page view with the quote's words highlighted when the quote is on this page (or runs on to it), else
    the passage."""
    from dataclasses import replace

    span = quote.span_on(passage.doc_id, passage.page, context.text) if quote is not None else None
    return replace(context, start=span[0], end=span[1]) if span else context
