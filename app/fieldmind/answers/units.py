"""Evidence units: a page's text cut into sentences, list items and table rows, each with its exact offsets.

An answer is one of these units shown word for word, so each keeps where it sits in its page's text
(`start`/`end`, for highlighting it in the page) and a table row keeps its table's header row, so
`Head bolts | 38 N·m | 2 stages` is read with `Part | Torque | Stages`.
Sentences are found by Bling Fire's sentence splitter over the paragraph with its line breaks as spaces (the
same length, so offsets carry over): PDF text breaks lines mid-sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

UnitKind = Literal["sentence", "item", "row", "heading"]

_LIST_ITEM = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*•–▪◦]|\([a-z0-9]{1,3}\)|[a-z][.)]|step\s+\d+[:.])\s+\S", re.IGNORECASE)
_OPTION_ITEM = re.compile(r"^\s*(?:--[A-Za-z][\w-]*|-[A-Za-z])(?:[ =,]|$)")
"""A command-line option's entry ("--epoch EPOCH gives …", "-p partno …"): one item of an option list."""
_NUMBERED_HEADING = re.compile(r"^\s*\d{1,3}(?:\.\d{1,3})+\.?\s+\S")
"""A numbered section heading ("9.3 auto-multiple-choice-meptex"), whatever case the next line starts with."""
_LINE_END = re.compile(
    r"(?<!\b[A-Z])(?<!\be\.g)(?<!\bi\.e)(?<!\betc)(?<!\bvs)(?<!\bNo)(?<!\bFig)[.!?][)\"'”’]?[ \t]*\r?\n"
)
"""A line that ends a sentence. Bling Fire misses some in PDF text (the next line starts "--n-copies" or lower case)."""
_PIPE_ROW = re.compile(r"\S\s*\|\s*\S")
_SPACED_ROW = re.compile(r"\S(?:\t| {3,})\S.*(?:\t| {3,})\S")
MAX_UNIT_WORDS = 60
"""A longer sentence (run-on PDF text, a code listing) is cut into windows of this many words."""
MIN_UNIT_CHARS = 3
MAX_HEADING_WORDS = 8


@dataclass(frozen=True)
class Span:
    """A unit of a page's text: `text[start:end]` of that page, trimmed of surrounding whitespace."""

    kind: UnitKind
    start: int
    end: int
    header: tuple[int, int] | None = None
    """For a table row: where its table's header row is."""


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line, without its line break."""
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        yield offset, offset + len(stripped)
        offset += len(line)


def _is_heading(line: str, following: str | None) -> bool:
    """A short line without closing punctuation, before a capitalised line: a title, not a sentence's start."""
    words = line.split()
    if not words or len(words) > MAX_HEADING_WORDS or line.rstrip().endswith((".", ",", ";", ":", "?", "!")):
        return False
    if _NUMBERED_HEADING.match(line):
        return True
    nxt = (following or "").lstrip()
    return bool(nxt) and (nxt[0].isupper() or nxt[0].isdigit())


def starts_block(line: str, following: str | None) -> bool:
    """Whether a line starts a new list item, option entry, table row or heading (rather than going on)."""
    return bool(_LIST_ITEM.match(line) or _OPTION_ITEM.match(line) or _is_row(line) or _is_heading(line, following))


def _is_row(line: str) -> bool:
    return bool(_PIPE_ROW.search(line) or _SPACED_ROW.search(line))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    import blingfire

    block = text[start:end]
    flat = block.replace("\r", " ").replace("\n", " ")
    try:
        _, offsets = blingfire.text_to_sentences_and_offsets(flat)
    except Exception:  # a splitter failure must not lose the text: the paragraph is one unit
        offsets = [(0, len(block))]
    # Bling Fire works on UTF-8 bytes in some versions; only keep offsets that fall inside the text.
    for a, b in offsets or [(0, len(block))]:
        if 0 <= a < b <= len(block):
            cut = a
            for line_end in _LINE_END.finditer(block, a, b):
                if block[line_end.end() : b].strip():
                    yield start + cut, start + line_end.end()
                    cut = line_end.end()
            yield start + cut, start + b


def _windows(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """A run-on span cut at word boundaries into pieces of at most MAX_UNIT_WORDS words."""
    words = [m.span() for m in re.finditer(r"\S+", text[start:end])]
    for first in range(0, len(words), MAX_UNIT_WORDS):
        piece = words[first : first + MAX_UNIT_WORDS]
        yield start + piece[0][0], start + piece[-1][1]


def split_units(text: str) -> list[Span]:
    """Every sentence, list item and table row of a page's text, in reading order."""
    blocks: list[tuple[str, list[tuple[int, int]]]] = []  # (kind, lines)
    lines = list(_lines(text))
    for n, (start, end) in enumerate(lines):
        line = text[start:end]
        if not line.strip():
            blocks.append(("break", []))
            continue
        following = text[lines[n + 1][0] : lines[n + 1][1]] if n + 1 < len(lines) else None
        listed = _LIST_ITEM.match(line) or _OPTION_ITEM.match(line)
        kind = "row" if _is_row(line) else "item" if listed else "text"
        if kind == "text" and _is_heading(line, following):
            blocks.append(("heading", [(start, end)]))
            continue
        previous = blocks[-1] if blocks else None
        if previous and previous[0] == "row" and kind == "row":
            previous[1].append((start, end))
        elif previous and previous[0] == "item" and kind == "text":
            previous[1].append((start, end))  # a wrapped list item goes on until the next marker or a gap
        elif previous and previous[0] == "text" and kind == "text":
            previous[1].append((start, end))
        else:
            blocks.append((kind, [(start, end)]))

    spans: list[Span] = []
    for kind, block in blocks:
        if not block:
            continue
        lines = block
        if kind == "row":
            header = _trim(text, *lines[0]) if len(lines) > 1 else None
            for row in lines[1:] if header else lines:
                a, b = _trim(text, *row)
                spans.append(Span("row", a, b, header))
            continue
        block_start, block_end = lines[0][0], lines[-1][1]
        if kind == "heading":
            a, b = _trim(text, block_start, block_end)
            spans.append(Span("heading", a, b))
            continue
        unit_kind: UnitKind = "item" if kind == "item" else "sentence"
        pieces = _sentences(text, block_start, block_end)
        if kind == "item":  # an item is one unit unless it runs on for several sentences
            whole = _trim(text, block_start, block_end)
            words = len(text[whole[0] : whole[1]].split())
            pieces = iter([whole]) if words <= MAX_UNIT_WORDS else pieces
        for a, b in pieces:
            a, b = _trim(text, a, b)
            if b - a < MIN_UNIT_CHARS:
                continue
            if len(text[a:b].split()) > MAX_UNIT_WORDS:
                spans.extend(Span(unit_kind, x, y) for x, y in _windows(text, a, b))
            else:
                spans.append(Span(unit_kind, a, b))
    return spans
