"""DOCX (python-docx) and HTML (Beautiful Soup): headings from styles and tags, tables kept as rows.

Neither format has pages, so passages from them carry no page number; headings give their place instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldmind.errors import InputError
from fieldmind.knowledge.parsers.headings import Heading
from fieldmind.knowledge.parsers.model import ParsedDocument
from fieldmind.knowledge.parsers.text import segments_from_blocks

if TYPE_CHECKING:
    from fieldmind.knowledge.scans import ScanReader


def _picture_block(scans: ScanReader | None, data: bytes, where: str) -> tuple[Heading | None, str] | None:
    """The words of an embedded picture as a block of text of its own, when it holds any."""
    if scans is None or not scans.recogniser.available():
        return None
    from fieldmind.knowledge.scans import PICTURE_LABEL

    words = scans.read_picture(data, where)
    return (None, f"{PICTURE_LABEL} {' '.join(words.split())}") if words else None


def _row(cells: list[str]) -> str:
    return " | ".join(" ".join(c.split()) for c in cells)


MAX_INFLATED_BYTES = 256 * 2**20
"""What a Word document may inflate to, all parts together (a 3 MB bomb once inflated to 1 GB)."""
MAX_RATIO = 200
"""How much a single part may inflate relative to its compressed size (text compresses ~10x; bombs ~1000x)."""


def check_zip(path: Path) -> None:
    """Refuse a zip container (DOCX) whose parts would inflate too far, before any of it is read."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(str(path), "not a readable Word document (corrupt, or not .docx)") from exc
    total = sum(m.file_size for m in members)
    if total > MAX_INFLATED_BYTES:
        raise InputError(
            str(path),
            f"its parts would inflate to {total / 2**20:.0f} MB (limit {MAX_INFLATED_BYTES // 2**20} MB): "
            "refused as a possible decompression bomb",
        )
    for member in members:
        if member.file_size > 2**20 and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise InputError(
                str(path),
                f"part {member.filename} inflates {member.file_size // max(member.compress_size, 1)}:1 "
                f"(limit {MAX_RATIO}:1): refused as a possible decompression bomb",
            )


INFLATE_STEP = 1 << 20
"""Parts are inflated this much at a time. zipfile's `read()` asks zlib for up to 2 GB in one call and only
then cuts it to the declared size: a 4 MB file declaring 200 KB parts peaked at 2.16 GB before failing."""


def inflated_copy(path: Path) -> Any:
    """The document's parts inflated a step at a time, each to no more than its declared size and all together
    to no more than MAX_INFLATED_BYTES, then stored uncompressed in memory: python-docx reads that, never the
    file's own compressed streams (whose headers may lie about what they inflate to)."""
    import io
    import zipfile

    copy = io.BytesIO()
    inflated = 0
    try:
        with zipfile.ZipFile(path) as archive, zipfile.ZipFile(copy, "w", zipfile.ZIP_STORED) as out:
            for member in archive.infolist():
                with archive.open(member) as part, out.open(member.filename, "w", force_zip64=True) as target:
                    while chunk := part.read(INFLATE_STEP):
                        inflated += len(chunk)
                        if inflated > MAX_INFLATED_BYTES:
                            raise InputError(
                                str(path),
                                f"its parts inflate past {MAX_INFLATED_BYTES // 2**20} MB: refused as a possible "
                                "decompression bomb",
                            )
                        target.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise InputError(str(path), f"not a readable Word document ({exc}; corrupt, or not .docx)") from exc
    copy.seek(0)
    return copy


def parse_docx(path: Path, scans: ScanReader | None = None) -> ParsedDocument:
    import zipfile

    import docx
    from docx.opc.exceptions import OpcError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_zip(path)
    try:
        document = docx.Document(inflated_copy(path))
    except (zipfile.BadZipFile, OpcError, KeyError, ValueError, SyntaxError) as exc:  # lxml's XMLSyntaxError too
        raise InputError(
            str(path), f"not a readable Word document ({type(exc).__name__}; corrupt, or not .docx)"
        ) from exc
    blocks: list[tuple[Heading | None, str]] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            for embedded in item._element.xpath(".//a:blip/@r:embed"):  # pictures in this paragraph
                part = document.part.related_parts.get(embedded)
                picture = _picture_block(scans, part.blob, str(path)) if part is not None else None
                if picture:
                    blocks.append(picture)
            text = item.text.strip()
            if not text:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            if style.startswith("Heading") and style[7:].strip().isdigit():
                blocks.append((Heading(int(style[7:]) - 1, text), text))
            elif style == "Title":
                blocks.append((Heading(-1, text), text))
            else:
                blocks.append((None, text))
        elif isinstance(item, Table):
            rows = [_row([cell.text for cell in row.cells]) for row in item.rows]
            blocks.append((None, "\n".join(r for r in rows if r.strip(" |"))))
    return ParsedDocument(str(path), "docx", segments_from_blocks(blocks))


def parse_html(path: Path, text: str, scans: ScanReader | None = None) -> ParsedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "nav", "noscript", "template"]):
        tag.decompose()
    root = soup.body or soup
    blocks: list[tuple[Heading | None, str]] = []
    for element in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "table", "dt", "dd", "img"]):
        if element.name == "img":
            data = _local_picture(path, str(element.get("src") or ""))
            picture = _picture_block(scans, data, str(path)) if data else None
            if picture:
                blocks.append(picture)
            continue
        if element.find_parent(["table", "li"]) and element.name != "table":
            continue  # already part of an enclosing table or list item
        if element.name == "table":
            rows = [_row([cell.get_text(" ") for cell in tr.find_all(["th", "td"])]) for tr in element.find_all("tr")]
            blocks.append((None, "\n".join(r for r in rows if r.strip(" |"))))
            continue
        content = element.get_text("\n" if element.name == "pre" else " ").strip()
        if not content:
            continue
        if element.name[0] == "h":
            blocks.append((Heading(int(element.name[1]) - 1, " ".join(content.split())), content))
        else:
            prefix = "- " if element.name == "li" else ""
            blocks.append((None, prefix + (content if element.name == "pre" else " ".join(content.split()))))
    return ParsedDocument(str(path), "html", segments_from_blocks(blocks))


MAX_PICTURE_BYTES = 20 * 2**20
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}


def _local_picture(page: Path, src: str) -> bytes | None:
    """A picture an HTML page shows: a file beside it or a data: URI. Never fetched from the network."""
    import base64
    from urllib.parse import unquote, urlparse

    if src.startswith("data:image/") and ";base64," in src:
        try:
            return base64.b64decode(src.split(";base64,", 1)[1], validate=False)[:MAX_PICTURE_BYTES]
        except ValueError:
            return None
    parsed = urlparse(src)
    if parsed.scheme not in ("", "file") or not parsed.path:
        return None
    candidate = (page.parent / unquote(parsed.path)).resolve()
    if candidate.suffix.lower() not in PICTURE_SUFFIXES:
        return None
    try:
        if candidate.is_file() and candidate.stat().st_size <= MAX_PICTURE_BYTES:
            return candidate.read_bytes()
    except OSError:
        return None
    return None
