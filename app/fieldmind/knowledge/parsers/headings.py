"""Finding headings in extracted text, so every passage knows where in the manual it sits.

Two sources, best first: a PDF's outline (bookmarks), whose titles are located on their pages; and, for
files without one, numbered heading lines ("5.3 Bleeding the system").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_NUMBERED = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+(?P<title>[A-Z][^\n]{1,78})$")
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Heading:
    """A heading at a level (0 = chapter), with where its title starts in the text (-1: not located)."""

    level: int
    title: str
    offset: int = -1


def numbered_heading(line: str) -> Heading | None:
    """A line like "5.3 Bleeding the system": short, numbered, capitalised, no closing full stop."""
    line = line.strip()
    match = _NUMBERED.match(line)
    if not match or line.endswith((".", ",", ";", ":")) or len(line.split()) > 12:
        return None
    return Heading(match["num"].count("."), line)


def numbered_headings(text: str) -> list[Heading]:
    """Every numbered heading line in `text`, with its offset."""
    found = []
    offset = 0
    for line in text.splitlines(keepends=True):
        heading = numbered_heading(line)
        if heading:
            found.append(Heading(heading.level, heading.title, offset + len(line) - len(line.lstrip())))
        offset += len(line)
    return found


def _fold(text: str) -> str:
    return _WS.sub("", text).casefold()


def locate_titles(text: str, titles: Sequence[tuple[int, str]]) -> list[Heading]:
    """Find outline titles on their page, in order, each on a short line of its own (a heading line).

    A title that cannot be found keeps offset -1: it still applies, from the previous located heading.
    """
    lines: list[tuple[int, str]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        lines.append((offset, line))
        offset += len(line)
    located: list[Heading] = []
    start_line = 0
    for level, title in titles:
        folded = _fold(title)
        found = -1
        for index in range(start_line, len(lines)):
            line_offset, line = lines[index]
            folded_line = _fold(line)
            if folded and folded in folded_line and len(folded_line) <= len(folded) + 12:
                found = line_offset
                start_line = index + 1
                title = line.strip()  # keeps the section number the outline leaves out
                break
        located.append(Heading(level, title.strip(), found))
    return located


class HeadingPath:
    """The current heading path while walking a document, updated heading by heading."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, heading: Heading) -> None:
        while self._stack and self._stack[-1][0] >= heading.level:
            self._stack.pop()
        self._stack.append((heading.level, heading.title))

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(title for _, title in self._stack)


_DIGITS = re.compile(r"\d+")
_LEADER = re.compile(r"(?:\.\s?){6,}\s*[0-9ivxlc]*\s*$|(?:\.\s?){8,}")


def _folded_edge_lines(text: str, margin: int) -> set[str]:
    """A page's first and last `margin` non-blank lines, digits folded ("Manual 4 / 92" → "Manual # / #")."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return {_DIGITS.sub("#", line) for line in lines[:margin] + lines[-margin:]}


def repeated_margin_lines(pages: Iterable[str], margin: int = 2) -> set[str]:
    """Running headers and footers: lines near a page's top or bottom that recur on most pages.

    Compared with digits folded, so "Manual 4 / 92" and "Manual 5 / 92" are the same line.
    """
    counts: Counter[str] = Counter()
    total = 0
    for text in pages:
        edge = _folded_edge_lines(text, margin)
        if not edge:
            continue
        total += 1
        counts.update(edge)
    if total < 4:
        return set()
    return {line for line, n in counts.items() if n >= max(3, total * 0.4)}


_NUMBERED_RUNNING_LINE = re.compile(r"^[^\W\d].*[A-Za-z].*\s#$")
"""A folded margin line of words then the page number ("Chapter #: Terminal Mode Operation #", "Appendix B:
Troubleshooting #"). A number alone is not taken: a code listing's line numbers stand alone too."""


def chapter_margin_lines(pages: Iterable[str], margin: int = 2) -> set[str]:
    """Running headers that change with the chapter: words and a page number at a page's top or bottom, on at
    least three pages. Each chapter's header is on too few pages to count as repeated on most of them, and it
    cut sentences that run over the page break ("…initially using a / Appendix B: Troubleshooting 53 / 12 V")."""
    counts: Counter[str] = Counter()
    for text in pages:
        counts.update(line for line in _folded_edge_lines(text, margin) if _NUMBERED_RUNNING_LINE.match(line))
    return {line for line, n in counts.items() if n >= 3}


def strip_margin_lines(text: str, repeated: set[str], at_edges: set[str] | None = None, margin: int = 2) -> str:
    """The page without its running headers and footers: `repeated` lines wherever they are, `at_edges` lines
    only among the page's first and last `margin` lines."""
    if not repeated and not at_edges:
        return text
    lines = text.splitlines()
    filled = [n for n, line in enumerate(lines) if line.strip()]
    edges = set(filled[:margin] + filled[-margin:])
    chapter = at_edges or set()
    kept = []
    for n, line in enumerate(lines):
        folded = _DIGITS.sub("#", line.strip())
        if folded not in repeated and not (n in edges and folded in chapter):
            kept.append(line)
    return "\n".join(kept)


def drop_leader_lines(text: str) -> str:
    """Table-of-contents lines ("6.7 Correction . . . . . 54") name every topic and answer none."""
    if ". . ." not in text and "...." not in text:
        return text
    return "\n".join(line for line in text.splitlines() if not _LEADER.search(line))
