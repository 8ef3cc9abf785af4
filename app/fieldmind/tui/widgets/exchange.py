"""One question and its answer in the conversation: the manual's own words first, then the short answer."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from fieldmind.citations import place

if TYPE_CHECKING:
    from fieldmind.answers.quote import Quote
    from fieldmind.assistant import Answer
    from fieldmind.history import Exchange


def citation_line(n: int, doc: str, page: int | None, section: str | None, revision: str | None = None) -> str:
    return f"[{n}] {place(doc, page, section, revision=revision)}"


WRITING = "writing a short answer… (Esc: keep the quote alone)"


class ExchangeView(Vertical):
    """A question, the quote it rests on (with its page), the short answer, and the pages it cites."""

    DEFAULT_CSS = """
    ExchangeView { height: auto; margin: 0 0 1 0; }
    ExchangeView .question { text-style: bold; color: $accent; }
    ExchangeView .answer { padding: 0 0 0 2; }
    ExchangeView .answer.not-found { color: $warning; }
    ExchangeView .quote { margin: 0 0 0 2; padding: 0 1; border-left: thick $accent; }
    ExchangeView .quote.closest { border-left: thick $warning; color: $text-muted; }
    ExchangeView .where { padding: 0 0 0 3; color: $text-muted; text-style: italic; }
    ExchangeView .citations { padding: 0 0 0 2; color: $text-muted; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        self.text = ""
        self.answer: Answer | Exchange | None = None
        self.quote: Quote | None = None
        """The quote shown (a `Quote`, or the saved dict of one), for opening its page."""
        self.stop = threading.Event()
        """Set to stop the answer being written (Esc, or a new question)."""

    def compose(self) -> ComposeResult:
        yield Static(f"> {self.question}", classes="question", markup=False)
        yield Static("…", classes="answer", markup=False)
        yield Static("", classes="quote", markup=False)
        yield Static("", classes="where", markup=False)
        yield Static("", classes="citations", markup=False)

    def on_mount(self) -> None:
        self.query_one(".quote", Static).display = False

    def set_note(self, note: str) -> None:
        self.query_one(".answer", Static).update(note)

    def show_quote(self, quote: Quote | None, closest: Quote | None = None) -> None:
        """The manual's own words (a `Quote`), as soon as they are chosen. When not found (None), the closest
        lines, if any, marked as such: they may not answer the question."""
        self.quote = quote or closest
        box = self.query_one(".quote", Static)
        shown = quote or closest
        if shown is None:
            box.display = False
            self.query_one(".where", Static).update("")
            return
        box.update(shown.shown())
        box.display = True
        box.set_class(quote is None, "closest")
        prefix = "— " if quote is not None else "Not found for sure. The closest lines, from "
        scanned = f" (read by OCR, {shown.ocr:.0%} sure)" if getattr(shown, "ocr", None) is not None else ""
        self.query_one(".where", Static).update(prefix + shown.where + scanned)
        writing = quote is not None and self.answer is None and not self.text  # the model has not begun yet
        self.query_one(".answer", Static).update(WRITING if writing else "")
        self.scroll_visible(animate=False)

    def append(self, piece: str) -> None:
        self.text += piece
        self.query_one(".answer", Static).update(self.text)
        self.scroll_visible(animate=False)

    def _show(self, text: str, found: bool, stopped: bool, lines: list[str]) -> None:
        answer = self.query_one(".answer", Static)
        answer.update(text + ("  [stopped]" if stopped else ""))
        answer.set_class(not found and not stopped, "not-found")
        self.query_one(".citations", Static).update("\n".join(lines))

    def finish(self, answer: Answer) -> None:
        self.answer = answer
        places = dict.fromkeys((p.doc, p.page, p.section, p.revision) for p in answer.citations)
        lines = [citation_line(n, *where) for n, where in enumerate(places, start=1)]
        for other in answer.differing:  # asked with no scope, and another asset's document says otherwise
            lines.append(f"⚠ Your documents differ: {other.where} says “{' '.join(other.text.split())[:160]}”")
        self.show_quote(answer.quote, answer.closest)
        self._show(answer.short_answer or ("" if answer.found else answer.text), answer.found, answer.stopped, lines)

    def restore(self, saved: Exchange) -> None:
        """Show an exchange from history."""
        from fieldmind.answers.quote import Quote

        self.answer = saved
        quote = Quote.from_json(saved.quote) if saved.quote else None
        lines = [
            citation_line(n, c["doc"], c.get("page"), c.get("section")) for n, c in enumerate(saved.citations, start=1)
        ]
        text = saved.short_answer or ("" if quote else saved.answer)

        def show() -> None:
            self.show_quote(quote)
            self._show(text, saved.found, saved.stopped, lines)

        self.call_after_refresh(show)

    def fail(self, message: str) -> None:
        self.query_one(".answer", Static).update(f"error: {message}")
