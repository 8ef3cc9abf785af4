"""The quote: the chosen stretch of the manual, word for word, with document, page, section and offsets.

What the user sees first is one verbatim stretch of a page's text (`page_text[start:end]`): the chosen stretch
(a few units, at most 60 words) read on with the sentences after it to at most 70 words. A whole passage is not
an answer. A table row is shown under its header row.
A stretch that ends its page mid-sentence ("the /RESET pin is activated initially using a") runs on to the
top of the next page ("12 V pulse (thus the name high voltage) …"), past that page's running header: a quote
never stops where the printer turned the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from fieldmind.answers.choose import WEIGHTS, Unit, Weights, Window
from fieldmind.answers.rendered import is_markdown, rendered_markdown
from fieldmind.answers.terms import asks_for_number, holds_value
from fieldmind.answers.units import split_units, starts_block
from fieldmind.citations import cited_json, place
from fieldmind.knowledge.retrieve import Passage

NextPage = Callable[[Passage], "str | None"]
"""The text of the page after a passage's page (None at the last page, or for a document without pages)."""

_SENTENCE_END = re.compile(r"[.!?][)\]\"'”’]*(?=\s|$)")
_RUNNING_HEADER = re.compile(r"^\s*(?:\d{1,4}|[^\W\d][^\n]{0,80}?\s\d{1,4})\s*$")
"""A page's first line that is a running header the parser left (it drops those it sees recur): words then the
page number ("Appendix B: Troubleshooting 53"), or the number alone. Not a number then words: that is how a
sentence goes on ("12 V pulse (thus the name …")."""
QUOTE_WORDS = 70
"""A quote reads on past its chosen stretch (at most MAX_WINDOW_WORDS) with the sentences and list items that
follow it on the page while it stays within this many words. Manuals name the case, then say what to do about it
("If the DWEN fuse is activated, … ISP communication cannot be established." | "There are two options to
deactivate that fuse again: high-voltage programming, …"): the stretch most like the question is often the first
of the two. Measured on six question sets (`bench/answers.py`) when it was added: the quote held the key for 5
more of 105 answerable questions (73 → 78; two of them confident wrong answers on AVRDUDE); the answerable
questions' quotes average 52 words instead of 46 (median 54). 80 words added one more; 65 one fewer."""
RUN_ON_WORDS = 20
"""The words a quote may always run on for to finish its sentence over a page break, even when it is full."""


@dataclass(frozen=True)
class Continuation:
    """The words of a quote that run on at the top of the next page: `text` is that page's `text[start:end]`."""

    page: int
    text: str
    start: int
    end: int

    def to_json(self) -> dict[str, Any]:
        return {"page": self.page, "text": self.text, "start": self.start, "end": self.end}


WRAPPED = re.compile(r"(?<=[^\n.:;!?|])\n(?=[a-z(]|\d(?!\d*[.)]\s))")
"""A line break inside a sentence: the file's own wrapping (a text file at 72 columns, a PDF's line ends)."""


def reflowed(text: str) -> str:
    """The quote's sentences as running text; lines that start a row, an item or a sentence stay lines."""
    return WRAPPED.sub(" ", text)


@dataclass(frozen=True)
class Quote:
    """A verbatim stretch of a page's text that the answer rests on."""

    doc: str
    doc_id: str
    page: int | None
    section: str | None
    text: str
    start: int
    """Offset of the quote in its page's (or, without pages, its section's) text."""
    end: int
    header: str | None = None
    """For a table row: the header row of its table, shown above it."""
    score: float = 0.0
    revision: str | None = None
    ocr: float | None = None
    """OCR confidence of the scanned page the words were recognised on; None for a text layer."""
    document: str | None = None
    """The document's stable id across revisions; `doc_id` is its file in the index."""
    title: str | None = None
    effective: str | None = None
    continued: Continuation | None = None
    """The rest of the quote's last sentence, at the top of the next page."""

    @property
    def where(self) -> str:
        last = self.continued.page if self.continued else None
        return place(
            self.doc, self.page, self.section, revision=self.revision, effective=self.effective, last_page=last
        )

    def shown(self) -> str:
        """The quote as displayed: a table row under its header row; words run on from the next page after it;
        from a Markdown file, as its rendered page reads (link text, no tags nor `#` marks)."""
        text = f"{self.header}\n{self.text}" if self.header else self.text
        text = f"{text}\n{self.continued.text}" if self.continued else text
        return rendered_markdown(text) if is_markdown(self.doc) else reflowed(text)

    def span_on(self, doc_id: str, page: int | None, text: str) -> tuple[int, int] | None:
        """Where the quote's words are in that page's text (its own page, or the next one it runs on to)."""
        if doc_id != self.doc_id:
            return None
        more = self.continued
        if more is not None and page == more.page and text[more.start : more.end] == more.text:
            return more.start, more.end
        if page == self.page and text[self.start : self.end] == self.text:
            return self.start, self.end
        return None

    def to_json(self) -> dict[str, Any]:
        return cited_json(self) | {
            "start": self.start,
            "end": self.end,
            "header": self.header,
            "continued": self.continued.to_json() if self.continued else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Quote:
        more = data.get("continued")
        continued = (
            Continuation(int(more["page"]), str(more["text"]), int(more.get("start") or 0), int(more.get("end") or 0))
            if isinstance(more, dict)
            else None
        )
        return cls(
            continued=continued,
            doc=str(data["doc"]),
            doc_id=str(data.get("index_id") or data.get("doc_id") or ""),
            document=data.get("doc_id"),
            title=data.get("title"),
            effective=data.get("effective"),
            page=data.get("page"),
            section=data.get("section"),
            text=str(data["text"]),
            start=int(data.get("start") or 0),
            end=int(data.get("end") or 0),
            header=data.get("header"),
            revision=data.get("revision"),
            ocr=data.get("ocr_confidence") if data.get("ocr") else None,
        )


def quote_of(window: Window) -> Quote:
    passage = window.passage
    return Quote(
        doc=passage.doc,
        doc_id=passage.doc_id,
        page=passage.page,
        section=passage.section,
        text=window.text,
        start=window.start,
        end=window.end,
        header=window.header,
        score=window.score,
        ocr=passage.ocr,
        revision=passage.revision,
        document=passage.document,
        title=passage.title,
        effective=passage.effective,
    )


def read_on(window: Window, limit: int = QUOTE_WORDS) -> Window:
    """The window with the sentences and list items that follow it on its page, while it stays within `limit`
    words; not past a heading or into a table, and a table row stands alone."""
    last = window.units[-1]
    if last.span.kind == "row":
        return window
    page = last.page_text
    units, words = list(window.units), len(window.text.split())
    for span in split_units(page):
        if span.start < window.end:
            continue
        more = len(page[span.start : span.end].split())
        if span.kind not in ("sentence", "item") or words + more > limit:
            break
        units.append(Unit(last.passage, last.rank, span, last.view, page, None))
        words += more
    return replace(window, units=tuple(units))


def cut_by_page_break(window: Window) -> bool:
    """Whether the window ends its page (but for a page-number footer) without ending its sentence. A table row
    at the foot of a page is not cut: the next row is another answer."""
    rest = window.first.page_text[window.end :].strip()
    if rest and ("\n" in rest or not _RUNNING_HEADER.match(rest)):
        return False
    if _SENTENCE_END.search(window.text[-3:]):
        return False
    return not (len(window.units) == 1 and window.first.span.kind == "row")


def run_on(window: Window, next_text: str) -> tuple[int, int] | None:
    """Where, at the top of the next page, the last sentence of a window `cut_by_page_break` goes on: (start,
    end) in `next_text`.

    The next page's first line is skipped when it looks like a running header and this page starts with one
    too; the words run to the end of the sentence, within the words the quote has left (at least RUN_ON_WORDS),
    or not at all: a listing or a list of addresses that goes on over the page is not a sentence cut short, nor
    is an item followed by another.
    """
    start = 0
    first_line = next_text.split("\n", 1)[0]
    headed = _RUNNING_HEADER.match(window.first.page_text.lstrip().split("\n", 1)[0])  # on this page too
    if headed and _RUNNING_HEADER.match(first_line) and "\n" in next_text:
        start = len(first_line) + 1
    while start < len(next_text) and next_text[start].isspace():
        start += 1
    lines = next_text[start:].split("\n", 2)
    if starts_block(lines[0], lines[1] if len(lines) > 1 else None) and not window.text.endswith(":"):
        return None  # the page ended a list item or a line of code, and the next page starts another
    budget = max(QUOTE_WORDS - len(window.text.split()), RUN_ON_WORDS)
    words = list(islice(re.finditer(r"\S+", next_text[start:]), budget))
    stop = _SENTENCE_END.search(next_text, start, start + words[-1].end()) if words else None
    return (start, stop.end()) if stop else None  # no sentence ends soon: a listing, not a sentence cut short


def quote_with_run_on(window: Window, next_page: NextPage | None) -> Quote:
    """The window as a quote, read on to the sentences after it (`read_on`) and run on to the next page when its
    last sentence goes on there. The next page is read only for a window the page break cut: not on every
    answer."""
    window = read_on(window)
    quote = quote_of(window)
    page = window.passage.page
    if next_page is None or page is None or not cut_by_page_break(window):
        return quote
    next_text = next_page(window.passage)
    span = run_on(window, next_text) if next_text is not None else None
    if span is None or next_text is None:
        return quote
    return replace(quote, continued=Continuation(page + 1, next_text[span[0] : span[1]], *span))


def select(
    ranked: Sequence[Window], sure: float, weights: Weights = WEIGHTS, next_page: NextPage | None = None
) -> Quote | None:
    """The best window as a quote, or None when the confidence in it is below the threshold (not found)."""
    if not ranked or sure < weights.threshold:
        return None
    return quote_with_run_on(ranked[0], next_page)


def lost_by_ocr(quote: Quote, question: str) -> bool:
    """A scanned page's quote with no number for a question that asks for one: OCR read the table's first
    column and lost the cells beside it, so the line cannot be the answer (it is shown as the closest lines)."""
    return quote.ocr is not None and asks_for_number(question) and not holds_value(quote.shown())


def closest_lines(
    ranked: Sequence[Window], sure: float, weights: Weights = WEIGHTS, next_page: NextPage | None = None
) -> Quote | None:
    """When not found: the best window, if it comes close enough to show as "the closest lines"."""
    if not ranked or not weights.closest <= sure < weights.threshold:
        return None
    return quote_with_run_on(ranked[0], next_page)


DIFFER_MARGIN = 0.25
"""How close to the best stretch's score another document's stretch must come to count as its answer."""


def differing(ranked: Sequence[Window], weights: Weights = WEIGHTS) -> list[Quote]:
    """With no scope: the best stretch of each document tagged for another asset (or model, fleet…) that
    answers nearly as well as the chosen one and states other numbers — the documents differ, say so."""
    from fieldmind.answers.check import numbers

    if not ranked:
        return []
    best = ranked[0]
    tags = best.passage.tags
    found: dict[str, Quote] = {}
    for window in ranked[1:]:
        other = window.passage
        key = other.document or other.doc_id
        if key in found or key == (best.passage.document or best.passage.doc_id) or not other.tags or not tags:
            continue
        if other.tags == tags or window.score < best.score - DIFFER_MARGIN:
            continue
        theirs, ours = numbers(window.text), numbers(best.text)
        if theirs and ours and theirs != ours:
            found[key] = quote_of(window)
    return list(found.values())
