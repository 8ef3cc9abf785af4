"""What a parser hands the chunker: runs of text that each know their page and heading path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fieldmind.knowledge.ocr import OcrPage


@dataclass(frozen=True)
class Segment:
    """A run of text on one page under one heading path."""

    text: str
    page: int | None
    """1-based page number in the file; None for formats without pages."""
    headings: tuple[str, ...] = ()
    """The heading path, outermost first: ("5 Hydraulics", "5.3 Bleeding the system")."""


@dataclass
class ParsedDocument:
    """A document read from disk, ready to be cut into passages."""

    path: str
    kind: str
    segments: list[Segment]
    pages: int | None = None
    warnings: list[str] = field(default_factory=list)
    """Things the user should know that did not stop the ingest (e.g. scanned pages with no text)."""
    ocr: dict[int, OcrPage] = field(default_factory=dict)
    """Scanned pages read by OCR, by page number."""
    blank_pages: list[int] = field(default_factory=list)
    """Pages with no text at all (none in the file, none recognised)."""
    title: str | None = None
    """The title the file gives itself (a PDF's metadata), if any."""
