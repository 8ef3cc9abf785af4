"""The quote: the chosen stretch of the manual, word for word, with document, page, section and offsets.

What the user sees first is one verbatim stretch of a page's text (`page_text[start:end]`), at most a few
units and about 60 words: a whole passage is not an answer. A table row is shown under its header row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fieldmind.answers.choose import WEIGHTS, Weights, Window
from fieldmind.citations import place


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

    @property
    def where(self) -> str:
        return place(self.doc, self.page, self.section, revision=self.revision, effective=self.effective)

    def shown(self) -> str:
        """The quote as displayed: a table row under its header row."""
        return f"{self.header}\n{self.text}" if self.header else self.text

    def to_json(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "doc_id": self.document or self.doc_id,
            "index_id": self.doc_id,
            "title": self.title or self.doc,
            "revision": self.revision,
            "effective": self.effective,
            "page": self.page,
            "section": self.section,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "header": self.header,
            "ocr": self.ocr is not None,
            "ocr_confidence": None if self.ocr is None else round(self.ocr, 2),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Quote:
        return cls(
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


def select(ranked: Sequence[Window], sure: float, weights: Weights = WEIGHTS) -> Quote | None:
    """The best window as a quote, or None when the confidence in it is below the threshold (not found)."""
    if not ranked or sure < weights.threshold:
        return None
    return quote_of(ranked[0])


def closest_lines(ranked: Sequence[Window], sure: float, weights: Weights = WEIGHTS) -> Quote | None:
    """When not found: the best window, if it comes close enough to show as "the closest lines"."""
    if not ranked or not weights.closest <= sure < weights.threshold:
        return None
    return quote_of(ranked[0])


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
