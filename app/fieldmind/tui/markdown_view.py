"""A Markdown page shown as text a person reads: markup dropped, headings bold, the quoted words still marked.

The quote's offsets are offsets in the raw Markdown, so the markup is removed span by span while a map keeps
where each raw character went; the highlight is placed through that map.
"""

from __future__ import annotations

import re

from rich.text import Text

_INLINE = re.compile(
    r"!\[(?P<alt>[^\]]*)\]\([^)]*\)"  # an image: its alt text
    r"|\[(?P<link>[^\]]+)\]\([^)]*\)"  # a link: its text
    r"|\*\*(?P<strong>[^*\n]+)\*\*|__(?P<strong2>[^_\n]+)__"
    r"|(?<![\w*])\*(?P<em>[^*\n]+)\*(?![\w*])"
    r"|`(?P<code>[^`\n]+)`"
    r"|[ \t]*\{[#.][^{}\n]*\}[ \t]*$"  # a heading's attribute block
    r"|^(?P<hashes>#{1,6})[ \t]+",  # a heading's marker
    re.MULTILINE,
)


def plain_markdown(raw: str) -> tuple[str, list[int], list[tuple[int, int]]]:
    """(text without markup, where each raw offset lands in it, the spans of headings in it)."""
    out: list[str] = []
    where = [0] * (len(raw) + 1)
    headings: list[tuple[int, int]] = []
    cursor = 0
    length = 0

    def keep(start: int, end: int) -> None:
        nonlocal length
        for i in range(start, end):
            where[i] = length + (i - start)
        out.append(raw[start:end])
        length += end - start

    for match in _INLINE.finditer(raw):
        keep(cursor, match.start())
        for i in range(match.start(), match.end()):
            where[i] = length
        name = next((n for n in ("alt", "link", "strong", "strong2", "em", "code") if match.group(n) is not None), None)
        if name is not None:
            keep(match.start(name), match.end(name))
            for i in range(match.end(name), match.end()):
                where[i] = length
        elif match.group("hashes"):
            line_end = raw.find("\n", match.end())
            headings.append((match.end(), line_end if line_end >= 0 else len(raw)))  # raw offsets, mapped below
        cursor = match.end()
    keep(cursor, len(raw))
    where[len(raw)] = length
    return "".join(out), where, [(where[a], where[b]) for a, b in headings]


def render_markdown(raw: str, start: int, end: int) -> Text:
    """The page as rich Text, with raw[start:end] (the quote or passage) highlighted."""
    text, where, headings = plain_markdown(raw)
    shown = Text(text)
    for a, b in headings:
        shown.stylize("bold", a, b)
    if 0 <= start < end <= len(raw):
        shown.stylize("reverse bold", where[start], where[end])
    return shown
