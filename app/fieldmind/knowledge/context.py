"""A passage in its page: the page's full text and where the passage sits in it, for checking an answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fieldmind.citations import place
from fieldmind.knowledge.retrieve import Passage


@dataclass(frozen=True)
class PageContext:
    title: str
    """"manual.pdf, page 6" or "notes.md — 5 Service > 5.1 Oil"."""
    text: str
    start: int
    """Where the passage starts in `text` (-1 when it could not be located)."""
    end: int
    kind: str = ""
    """The document's format ("pdf", "markdown", …): how a viewer should show `text`."""


def _locate(passage: str, text: str) -> tuple[int, int]:
    words = passage.split()
    if not words:
        return -1, -1

    def pattern(part: list[str]) -> str:
        return r"\s+".join(re.escape(w) for w in part)

    head = re.search(pattern(words[:8]), text)
    if head is None:
        return -1, -1
    tail = re.search(pattern(words[-8:]), text[head.start() :])
    end = head.start() + tail.end() if tail is not None else head.end()
    return head.start(), max(end, head.end())


def page_context(passage: Passage, views: list[tuple[int | None, str | None, str]]) -> PageContext:
    """The view (page or section) holding the passage, falling back to the passage alone."""
    for page, section, text in views:
        start, end = _locate(passage.text, text)
        if start >= 0:
            title = place(passage.doc, page, section if page is None else None, last_heading=False)
            return PageContext(title, text, start, end)
    return PageContext(place(passage.doc, passage.page), passage.text, 0, len(passage.text))
