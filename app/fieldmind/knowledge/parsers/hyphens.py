"""Words hyphenated at a line's end, joined again.

PDFium joins a word the typesetter broke over two lines and marks the break with U+FFFE ("program\ufffeming",
"EEP\ufffeROM", "AMC\ufffeTXT"): left in, the quote shows a stray glyph and the word matches no search.
Chromium's PDF viewer drops the mark and joins the halves, which also turns a hyphen the word really has into
nothing ("AMC-TXT" into "AMCTXT"). Here the document itself decides: where the halves are written with a hyphen
elsewhere in it ("AMC-TXT", "libusb-dev", "YYYY-MM-DD"), the hyphen stays; otherwise they are joined
("programming", "EEPROM", "YYMMDDNN"). In the four PDF manuals of our question sets: 458 breaks, 20 of them kept
their hyphen ("AMC-TXT", "sejda-console", "read-only", "on-chip").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import pairwise

LINE_END_HYPHEN = "\ufffe"
_BROKEN = re.compile(r"(\w+)\ufffe(\w+)")
_HYPHENATED = re.compile(r"\w+(?:-\w+)+")


def _hyphenated_pairs(texts: Iterable[str]) -> set[str]:
    """Each pair of words the document writes with a hyphen between them ("amc-txt"), lower case."""
    pairs: set[str] = set()
    for text in texts:
        for compound in _HYPHENATED.findall(text):
            parts = compound.lower().split("-")
            pairs.update(f"{a}-{b}" for a, b in pairwise(parts))
    return pairs


def join_hyphenated(texts: list[str]) -> list[str]:
    """The pages' texts with each line-end hyphen mark resolved, as the document itself spells the word."""
    if not any(LINE_END_HYPHEN in text for text in texts):
        return texts
    pairs = _hyphenated_pairs(texts)

    def resolve(match: re.Match[str]) -> str:
        left, right = match.group(1), match.group(2)
        hyphenated = f"{left}-{right}"
        return hyphenated if hyphenated.lower() in pairs else f"{left}{right}"

    return [_BROKEN.sub(resolve, text).replace(LINE_END_HYPHEN, "-") for text in texts]
