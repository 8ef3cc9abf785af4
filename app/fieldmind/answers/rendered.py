"""A Markdown quote as a reader of the rendered page sees it: a link's text, no HTML tags, no `#` marks.

The stored text keeps the file's own characters (so offsets still mark the quote on its page); only what is
shown as the quote goes through markdown-it, the parser that already finds Markdown headings at ingest.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

MARKDOWN_SUFFIXES = (".md", ".markdown")


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def is_markdown(name: str) -> bool:
    return name.lower().endswith(MARKDOWN_SUFFIXES)


def _inline(token: Token) -> str:
    words = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            words.append(child.content)
        elif child.type == "image":
            words.append(child.content or "")  # its alt text
        elif child.type in ("softbreak", "hardbreak"):
            words.append("\n")
    return "".join(words)


def rendered_markdown(text: str) -> str:
    """The text a Markdown renderer would show: lines of headings, paragraphs and list items, inline syntax and
    HTML gone (an `<audio>` tag, a `[link](target)` reduced to its words). Code blocks keep their text."""
    lines: list[str] = []
    bullet = False
    for token in _parser().parse(text):
        if token.type == "list_item_open":
            bullet = True
        elif token.type == "inline":
            shown = _inline(token).strip()
            if shown:
                lines.append(("- " if bullet else "") + shown)
            bullet = False
        elif token.type in ("fence", "code_block"):
            lines.append(token.content.rstrip("\n"))
    return "\n".join(lines)
