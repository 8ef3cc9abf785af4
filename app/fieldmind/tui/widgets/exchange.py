"""One question and its answer in the conversation, streamed in piece by piece."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class Exchange(Vertical):
    """A question, the answer as it streams, and the pages it cites."""

    DEFAULT_CSS = """
    Exchange { height: auto; margin: 0 0 1 0; }
    Exchange .question { text-style: bold; color: $accent; }
    Exchange .answer { padding: 0 0 0 2; }
    Exchange .citations { padding: 0 0 0 2; color: $text-muted; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        self.text = ""
        self.answer: Any = None

    def compose(self) -> ComposeResult:
        yield Static(f"> {self.question}", classes="question", markup=False)
        yield Static("…", classes="answer", markup=False)
        yield Static("", classes="citations", markup=False)

    def set_note(self, note: str) -> None:
        self.query_one(".answer", Static).update(note)

    def append(self, piece: str) -> None:
        self.text += piece
        self.query_one(".answer", Static).update(self.text)

    def finish(self, answer: Any) -> None:
        self.answer = answer
        text = answer.text + ("  [stopped]" if answer.stopped else "")
        self.query_one(".answer", Static).update(text)
        lines = []
        for n, p in enumerate(answer.citations, start=1):
            where = f"{p.doc}, page {p.page}" if p.page else p.doc
            lines.append(f"[{n}] {where}" + (f" — {p.section.split(' > ')[-1]}" if p.section else ""))
        self.query_one(".citations", Static).update("\n".join(lines))

    def fail(self, message: str) -> None:
        self.query_one(".answer", Static).update(f"error: {message}")
