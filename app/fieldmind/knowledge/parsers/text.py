"""Plain text and Markdown: no pages, headings from the text itself."""

from __future__ import annotations

import re
from pathlib import Path

from fieldmind.knowledge.parsers.headings import Heading, HeadingPath, numbered_headings
from fieldmind.knowledge.parsers.model import ParsedDocument, Segment


def _segments(text: str, headings: list[Heading]) -> list[Segment]:
    state = HeadingPath()
    segments: list[Segment] = []
    cursor = 0
    for heading in headings:
        piece = text[cursor : heading.offset]
        if piece.strip():
            segments.append(Segment(piece, None, state.path))
        cursor = heading.offset
        state.enter(heading)
    if text[cursor:].strip():
        segments.append(Segment(text[cursor:], None, state.path))
    return segments


def segments_from_blocks(blocks: list[tuple[Heading | None, str]]) -> list[Segment]:
    """Segments from a flat run of (heading or None, text) blocks, as structured formats give them."""
    state = HeadingPath()
    segments: list[Segment] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            segments.append(Segment("\n".join(pending), None, state.path))
            pending.clear()

    for heading, text in blocks:
        if heading is not None:
            flush()
            state.enter(heading)
        pending.append(text)
    flush()
    return segments


_CAPS_HEADING = re.compile(r"^[ \t]*([A-Z0-9][A-Z0-9 ,&/()'-]{2,60}[A-Z0-9)])[ \t]*$")
MAX_CAPS_WORDS = 8


def caps_headings(text: str) -> list[Heading]:
    """Lines in capitals standing alone (a blank line or the start above, more text below): how plain-text manuals
    write their section titles ("MAINTENANCE", "OIL CHANGE INTERVALS"). Without them a quote from a .txt
    manual was cited by its file name alone."""
    found: list[Heading] = []
    lines = text.splitlines(keepends=True)
    offset = 0
    for index, line in enumerate(lines):
        match = _CAPS_HEADING.match(line.rstrip("\r\n"))
        above = lines[index - 1].strip() if index else ""
        below = any(following.strip() for following in lines[index + 1 : index + 3])
        if (
            match
            and not above
            and below
            and sum(ch.isalpha() for ch in match.group(1)) >= 3
            and len(match.group(1).split()) <= MAX_CAPS_WORDS
        ):
            found.append(Heading(0, match.group(1), offset + match.start(1)))
        offset += len(line)
    return found


def parse_text(path: Path, text: str) -> ParsedDocument:
    """A plain-text manual: its sections from numbered headings and lines in capitals standing alone."""
    numbered = numbered_headings(text)
    taken = {h.offset for h in numbered}
    headings = sorted(numbered + [h for h in caps_headings(text) if h.offset not in taken], key=lambda h: h.offset)
    return ParsedDocument(str(path), "text", _segments(text, headings))


_ATTRIBUTES = re.compile(r"\s*\{[#.][^{}]*\}\s*$")
"""A heading's attribute block (`## UI LED {#ui_led}`, Pandoc and MkDocs style): markup, not title."""


def markdown_headings(text: str) -> list[Heading]:
    """Headings of a Markdown text, by markdown-it (ATX and setext; never `#` inside code blocks)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    line_offsets = [0]
    for line in text.splitlines(keepends=True):
        line_offsets.append(line_offsets[-1] + len(line))
    headings: list[Heading] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.map:
            title = _ATTRIBUTES.sub("", tokens[index + 1].content).strip()
            headings.append(Heading(int(token.tag[1:]) - 1, title, line_offsets[token.map[0]]))
    return headings


def parse_markdown(path: Path, text: str) -> ParsedDocument:
    return ParsedDocument(str(path), "markdown", _segments(text, markdown_headings(text)))
