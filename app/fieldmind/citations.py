"""How a place in the manuals is written for people: "manual.pdf, page 6 — 5.1 Oil". One way, everywhere."""

from __future__ import annotations

from typing import Any, Protocol

SECTION_SEPARATOR = " > "


class Cited(Protocol):
    """Words of a document with where they are: a retrieved passage, a quote."""

    @property
    def doc(self) -> str: ...
    @property
    def doc_id(self) -> str: ...
    @property
    def document(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...
    @property
    def revision(self) -> str | None: ...
    @property
    def effective(self) -> str | None: ...
    @property
    def page(self) -> int | None: ...
    @property
    def section(self) -> str | None: ...
    @property
    def text(self) -> str: ...
    @property
    def ocr(self) -> float | None: ...


def cited_json(cited: Cited) -> dict[str, Any]:
    """Where words come from, as `ask --json` and cards give it: the document's stable id, title, revision and
    date, its file in the index, the page and section, the words, and whether OCR read them."""
    return {
        "doc": cited.doc,
        "doc_id": cited.document or cited.doc_id,
        "index_id": cited.doc_id,
        "title": cited.title or cited.doc,
        "revision": cited.revision,
        "effective": cited.effective,
        "page": cited.page,
        "section": cited.section,
        "text": cited.text,
        "ocr": cited.ocr is not None,
        "ocr_confidence": None if cited.ocr is None else round(cited.ocr, 2),
    }


def printable(text: str) -> str:
    """Text without control characters (ESC, BEL, …): a document's title or section comes from the file, and
    an escape sequence in it would reach the terminal and the work-order card as a command, not as words."""
    import unicodedata

    return "".join(ch if unicodedata.category(ch)[0] != "C" else " " if ch in "\t\n\r" else "" for ch in text)


def place(
    doc: str,
    page: int | None,
    section: str | None = None,
    *,
    last_heading: bool = True,
    revision: str | None = None,
    effective: str | None = None,
    last_page: int | None = None,
) -> str:
    """ "doc, page N" (or "doc" without pages; "doc, pages N–M" up to `last_page`), then " — section" when
    there is one; with a revision, "doc rev. C (2026-03-01), page N".

    `last_heading` keeps only the innermost heading of a path ("5 Service > 5.1 Oil" → "5.1 Oil").
    """
    if revision or effective:
        doc += "".join([f" rev. {revision}" if revision else "", f" ({effective})" if effective else ""])
    if page is not None and last_page is not None and last_page != page:
        where = f"{doc}, pages {page}–{last_page}"
    else:
        where = f"{doc}, page {page}" if page is not None else doc
    if section:
        where += " — " + (section.split(SECTION_SEPARATOR)[-1] if last_heading else section)
    return where
