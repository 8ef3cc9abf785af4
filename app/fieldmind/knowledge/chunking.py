"""Cutting segments into passages that fit a small model's context and still make sense alone.

A passage never crosses a page (so its citation is page-true) and knows its heading path. Numbered
procedures, lists and table rows are kept together where they fit; neighbours overlap a little so a
sentence cut at a boundary is still found whole in one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from fieldmind.knowledge.parsers.model import Segment

_LIST_ITEM = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*•–]|\([a-z0-9]\)|[a-z][.)])\s+\S")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$|\S.*(?:\t| {3,})\S.*(?:\t| {3,})\S")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
SECTION_SEPARATOR = " > "


@dataclass(frozen=True)
class Chunk:
    """A passage as stored and shown: its text, page and heading path."""

    text: str
    page: int | None
    section: str | None

    def embedding_text(self) -> str:
        """What gets embedded: the heading path gives a short passage its topic."""
        return f"{self.section}\n{self.text}" if self.section else self.text


def _words(text: str) -> int:
    return len(text.split())


def _units(text: str, limit: int) -> list[str]:
    """Lines joined into paragraphs, list runs and table runs; longer than `limit`: split by sentence."""
    blocks: list[tuple[str, list[str]]] = []  # (kind, lines)
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            blocks.append(("break", []))
            continue
        kind = "list" if _LIST_ITEM.match(line) else "table" if _TABLE_ROW.match(line) else "text"
        if blocks and blocks[-1][0] == kind and kind in ("list", "table"):
            blocks[-1][1].append(line)
        elif blocks and blocks[-1][0] == "list" and kind == "text" and line.startswith((" ", "\t")):
            blocks[-1][1].append(line)  # an indented continuation of a list item
        elif blocks and blocks[-1][0] == "text" and kind == "text":
            blocks[-1][1].append(line)
        else:
            blocks.append((kind, [line]))
    units: list[str] = []
    for kind, lines in blocks:
        if not lines:
            continue
        joined = "\n".join(line.strip() for line in lines)  # line breaks keep table rows apart
        if _words(joined) <= limit:
            units.append(joined)
        elif kind in ("list", "table"):
            units.extend(lines)
        else:
            units.extend(_split_long(joined, limit))
    return units


def _split_long(text: str, limit: int) -> Iterator[str]:
    """Sentences, and windows of words for a sentence longer than the limit."""
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        for start in range(0, len(words), limit):
            yield " ".join(words[start : start + limit])


def _merge_small(segments: Iterable[Segment], min_words: int) -> list[Segment]:
    """A heading line alone is not a passage: fold tiny segments into the next one on the same page."""
    merged: list[Segment] = []
    pending: Segment | None = None
    for segment in segments:
        if pending is not None:
            if pending.page == segment.page:
                segment = Segment(pending.text.rstrip() + "\n" + segment.text, segment.page, segment.headings)
            else:
                merged.append(pending)
            pending = None
        if _words(segment.text) < min_words:
            pending = segment
        else:
            merged.append(segment)
    if pending is not None:
        merged.append(pending)
    return merged


def chunk_segments(segments: Iterable[Segment], words: int = 180, overlap: int = 30) -> list[Chunk]:
    """Passages of about `words` words, overlapping by about `overlap` words, never across a page."""
    chunks: list[Chunk] = []
    for segment in _merge_small(segments, min_words=max(8, words // 8)):
        section = SECTION_SEPARATOR.join(segment.headings) or None
        current: list[str] = []
        size = 0
        for unit in _units(segment.text, words):
            unit_words = _words(unit)
            if current and size + unit_words > words:
                chunks.append(Chunk("\n".join(current), segment.page, section))
                tail: list[str] = []
                tail_words = 0
                for previous in reversed(current):
                    if tail_words + _words(previous) > overlap:
                        break
                    tail.insert(0, previous)
                    tail_words += _words(previous)
                current, size = tail, tail_words
            current.append(unit)
            size += unit_words
        if current and (size > 0):
            text = "\n".join(current)
            if not chunks or chunks[-1].text != text or chunks[-1].page != segment.page:
                chunks.append(Chunk(text, segment.page, section))
    return [chunk for chunk in chunks if chunk.text.strip()]
