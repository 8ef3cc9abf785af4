"""The page as a picture: a PDF page rendered by PDFium with the quoted words marked, for the terminal app
and `fieldmind show`. A diagram or a torque table is read on the page, not in extracted text.

Where the words are: on a page with a text layer, PDFium finds them and gives their character boxes; on a
scanned page, the word boxes OCR stored at ingest.
"""

from __future__ import annotations

import bisect
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldmind.errors import InputError
from fieldmind.knowledge.ocr import render_scale

if TYPE_CHECKING:
    from PIL.Image import Image
    from pypdfium2 import PdfTextPage

Box = tuple[float, float, float, float]
"""Left, top, right, bottom as fractions of the page's width and height."""

MARK_FILL = (255, 214, 0, 90)
MARK_EDGE = (220, 30, 30, 255)


@dataclass
class PagePicture:
    image: Image
    """A PIL image (RGB)."""
    page: int
    pages: int
    marked: list[Box]
    """The boxes drawn around the quoted words (empty when there was no quote, or it was not found)."""


def render_page(
    file: Path, page: int, quote: str | None = None, ocr_words: str | None = None, width: int = 1200
) -> PagePicture:
    """Page `page` (1-based) of the PDF `file`, `width` pixels wide, the words of `quote` marked."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(file))
    except pdfium.PdfiumError as exc:
        raise InputError(str(file), f"cannot be opened to show a page ({exc})") from exc
    try:
        pages = len(pdf)
        if not 1 <= page <= pages:
            raise InputError(str(file), f"has no page {page} (it has {pages})")
        handle = pdf[page - 1]
        try:
            page_w, page_h = handle.get_size()
            scale = min(width / page_w, render_scale(page_w, page_h, f"{file}, page {page}"))
            image = handle.render(scale=scale).to_pil().convert("RGB")
            boxes: list[Box] = []
            if quote:
                if ocr_words:
                    boxes = word_boxes(json.loads(ocr_words), quote)
                else:
                    textpage = handle.get_textpage()
                    boxes = text_boxes(textpage, page_w, page_h, quote)
                    textpage.close()
        finally:
            handle.close()
    finally:
        pdf.close()
    return PagePicture(mark(image, boxes), page, pages, boxes)


def text_boxes(textpage: PdfTextPage, page_w: float, page_h: float, quote: str) -> list[Box]:
    """Boxes of the quote's lines (a table row's cells) on the page; a line not found whole is looked for in
    runs of four words (extracted text and the page's line breaks do not always agree). Lines are matched on
    their letters and digits alone: the page's text has line breaks where the quote has spaces, and marks a word
    the typesetter broke over two lines ("Trans\ufffefers") that the quote holds joined; PDFium's own search
    found neither."""
    page = PageLetters.of(textpage)
    boxes: list[Box] = []
    after = 0
    lines = (cell.strip() for line in quote.splitlines() for cell in line.split(" | "))  # table rows: by cell
    for line in lines:
        if len(line) < 2:
            continue
        words = line.split()
        whole = page.find(line, after)
        pieces = [whole] if whole else [page.find(" ".join(words[i : i + 4]), after) for i in range(0, len(words), 4)]
        for found in pieces:
            if found is None:
                continue
            index, count = found
            after = max(after, page.letter_at(index + count))
            for n in range(textpage.count_rects(index, count)):
                left, bottom, right, top = textpage.get_rect(n)
                boxes.append((left / page_w, 1 - top / page_h, right / page_w, 1 - bottom / page_h))
    return boxes


def letters(text: str) -> tuple[str, list[int]]:
    """The letters and digits of `text`, lower-cased and NFKC-folded (the ligature "\ufb01" is "fi"), each with
    its index in `text`."""
    kept: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        for folded in unicodedata.normalize("NFKC", char).lower():
            if folded.isalnum():
                kept.append(folded)
                where.append(index)
    return "".join(kept), where


@dataclass
class PageLetters:
    """A PDF page's characters as PDFium indexes them (one each, so a match maps to its boxes), reduced to
    their letters and digits."""

    letters: str
    where: list[int]

    @classmethod
    def of(cls, textpage: PdfTextPage) -> PageLetters:
        import pypdfium2.raw as raw

        text = "".join(chr(raw.FPDFText_GetUnicode(textpage.raw, i)) for i in range(textpage.count_chars()))
        return cls(*letters(text))

    def find(self, text: str, after: int = 0) -> tuple[int, int] | None:
        """(first character index, count) of `text` on the page: after letter `after` if it is there (a
        quote's lines come in page order), else anywhere."""
        wanted = letters(text)[0]
        if len(wanted) < 2:
            return None
        at = self.letters.find(wanted, after)
        if at < 0:
            at = self.letters.find(wanted)
        if at < 0:
            return None
        first, last = self.where[at], self.where[at + len(wanted) - 1]
        return first, last - first + 1

    def letter_at(self, char_index: int) -> int:
        """The first letter at or after the page's character `char_index`."""
        return bisect.bisect_left(self.where, char_index)


def word_boxes(words: list[list[Any]], quote: str) -> list[Box]:
    """Boxes of the OCR words the quote was made of: where the quote's words line up longest on the page."""
    wanted = [w for w in (letters(t)[0] for t in quote.split()) if w]
    have = [letters(str(w[0]))[0] for w in words]
    if not wanted or not have:
        return []
    best, best_start = 0, 0
    for start in range(len(have)):
        matched = sum(1 for j, w in enumerate(wanted) if start + j < len(have) and have[start + j] == w)
        if matched > best:
            best, best_start = matched, start
    if best < max(1, len(wanted) // 3):
        return []
    end = min(len(have), best_start + len(wanted))
    return [(float(w[1]), float(w[2]), float(w[3]), float(w[4])) for w in words[best_start:end]]


def mark(image: Image, boxes: list[Box]) -> Image:
    """Highlight boxes: a translucent yellow fill (still visible when the picture is shrunk to terminal
    cells) and a red edge, a little larger than the words."""
    if not boxes:
        return image
    from PIL import Image, ImageDraw

    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    w, h = image.size
    pad = max(2, w // 300)
    edge = max(2, w // 400)
    for left, top, right, bottom in boxes:
        rect = (left * w - pad, top * h - pad, right * w + pad, bottom * h + pad)
        draw.rectangle(rect, fill=MARK_FILL, outline=MARK_EDGE, width=edge)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
