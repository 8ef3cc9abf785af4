"""One question and its answer in the conversation, streamed in piece by piece."""

from __future__ import annotations

import threading
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


def citation_line(n: int, doc: str, page: int | None, section: str | None) -> str:
    where = f"{doc}, page {page}" if page else doc
    return f"[{n}] {where}" + (f" — {section.split(' > ')[-1]}" if section else "")


class ExchangeView(Vertical):
    """A question, the answer as it streams, and the pages it cites."""

    DEFAULT_CSS = """
    ExchangeView { height: auto; margin: 0 0 1 0; }
    ExchangeView .question { text-style: bold; color: $accent; }
    ExchangeView .answer { padding: 0 0 0 2; }
    ExchangeView .answer.not-found { color: $warning; }
    ExchangeView .citations { padding: 0 0 0 2; color: $text-muted; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        self.text = ""
        self.answer: Any = None
        self.stop = threading.Event()
        """Set to stop the answer being written (Esc, or a new question)."""

    def compose(self) -> ComposeResult:
        yield Static(f"> {self.question}", classes="question", markup=False)
        yield Static("…", classes="answer", markup=False)
        yield Static("", classes="citations", markup=False)

    def set_note(self, note: str) -> None:
        self.query_one(".answer", Static).update(note)

    def append(self, piece: str) -> None:
        self.text += piece
        self.query_one(".answer", Static).update(self.text)
        self.scroll_visible(animate=False)

    def _show(self, text: str, found: bool, stopped: bool, lines: list[str]) -> None:
        answer = self.query_one(".answer", Static)
        answer.update(text + ("  [stopped]" if stopped else ""))
        answer.set_class(not found and not stopped, "not-found")
        self.query_one(".citations", Static).update("\n".join(lines))

    def finish(self, answer: Any) -> None:
        self.answer = answer
        places = dict.fromkeys((p.doc, p.page, p.section) for p in answer.citations)
        lines = [citation_line(n, *place) for n, place in enumerate(places, start=1)]
        self._show(answer.text, answer.found, answer.stopped, lines)

    def restore(self, saved: Any) -> None:
        """Show an exchange from history."""
        self.answer = saved
        lines = [
            citation_line(n, c["doc"], c.get("page"), c.get("section")) for n, c in enumerate(saved.citations, start=1)
        ]
        self.call_after_refresh(self._show, saved.answer, saved.found, saved.stopped, lines)

    def fail(self, message: str) -> None:
        self.query_one(".answer", Static).update(f"error: {message}")
