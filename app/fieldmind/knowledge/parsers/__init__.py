"""Reading documents from disk into page-true segments, with a clear error for anything unreadable.

Every refusal names the file and says what to do; nothing here raises anything but `InputError` for a
bad file, so one bad manual never stops an ingest of a hundred good ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fieldmind.errors import InputError
from fieldmind.knowledge.parsers.model import ParsedDocument, Segment

if TYPE_CHECKING:
    from fieldmind.knowledge.scans import ScanReader

__all__ = ["READER_VERSION", "SUPPORTED", "ParsedDocument", "Segment", "parse"]

READER_VERSION = 3
"""Bumped when reading changes what an unchanged file gives (2: words hyphenated at a PDF line's end joined;
3: tables whose cells wrap over lines read as rows; capitals standing alone are sections of a .txt).
A document read by an older version is read again when its file is next added: its bytes did not change, but
what Fieldmind makes of them did."""

SUPPORTED = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
}


def kind_of(path: Path) -> str | None:
    return SUPPORTED.get(path.suffix.lower())


def _read_text(path: Path, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise InputError(str(path), "binary data, not text (it has NUL bytes); is the extension right?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            str(path),
            f"not UTF-8 text (invalid byte at offset {exc.start}); re-save it as UTF-8",
        ) from exc


def parse(path: Path, max_bytes: int | None = None, scans: ScanReader | None = None) -> ParsedDocument:
    """Read one file; raises `InputError` naming the file when it cannot be used, or holds no text at all.

    `scans` reads pages that have no text layer (OCR); without it they are reported, not read.
    """
    doc = _parse(path, max_bytes, scans)
    if not any(segment.text.strip() for segment in doc.segments):
        raise InputError(str(path), "no text found in it; nothing to search (a scan, or an empty document?)")
    return doc


def _parse(path: Path, max_bytes: int | None, scans: ScanReader | None) -> ParsedDocument:
    kind = kind_of(path)
    if kind is None:
        supported = ", ".join(sorted(SUPPORTED))
        raise InputError(str(path), f"unsupported file type {path.suffix or '(none)'!r}; supported: {supported}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(str(path), f"cannot read it ({exc.strerror or exc})") from exc
    if size == 0:
        raise InputError(str(path), "empty file (0 bytes)")
    if max_bytes is not None and size > max_bytes:
        raise InputError(
            str(path),
            f"too large ({size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB, "
            "setting knowledge.max_file_mb)",
        )
    if kind == "pdf":
        with path.open("rb") as handle:
            head = handle.read(1024)
        if b"%PDF-" not in head:
            raise InputError(str(path), "not a PDF (no %PDF header); the file is damaged or misnamed")
        from fieldmind.knowledge.parsers.pdf import parse_pdf

        return parse_pdf(path, scans)
    if kind == "docx":
        from fieldmind.knowledge.parsers.office import parse_docx

        return parse_docx(path, scans)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read it ({exc.strerror or exc})") from exc
    text = _read_text(path, data)
    if not text.strip():
        raise InputError(str(path), "no text in it (only whitespace)")
    if kind == "html":
        from fieldmind.knowledge.parsers.office import parse_html

        return parse_html(path, text, scans)
    from fieldmind.knowledge.parsers.text import parse_markdown, parse_text

    return parse_markdown(path, text) if kind == "markdown" else parse_text(path, text)
