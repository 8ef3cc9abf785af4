"""What the first screen says before any question: what is loaded, what to try, where documents go.

A technician opening the app for the first time sees an empty conversation; this gives it words. Kept free of
any UI so the TUI shows it and a test reads it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from fieldmind.locations import shipped

if TYPE_CHECKING:
    from fieldmind.knowledge.records import DocumentRecord

EXAMPLES = "knowledge/examples.toml"
SHOWN_TITLES = 3


@dataclass(frozen=True)
class Welcome:
    """The documents loaded (a few titles and the counts) and example questions answered from them."""

    documents: int
    passages: int
    titles: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    def loaded(self) -> str:
        """One line: what questions are answered from."""
        if not self.documents:
            return "No documents yet."
        more = self.documents - len(self.titles)
        names = ", ".join(self.titles) + (f" and {more} more" if more > 0 else "")
        plural = "document" if self.documents == 1 else "documents"
        return f"{self.documents} {plural} loaded ({self.passages} passages): {names}"


@cache
def shipped_examples() -> dict[str, list[str]]:
    """Example questions by document file name, as shipped with the app (empty when the file is missing)."""
    path = shipped(EXAMPLES)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return {name: [str(q) for q in entry.get("questions", [])] for name, entry in table.items()}


def welcome_for(documents: list[DocumentRecord]) -> Welcome:
    """The first screen's words for these documents: shipped examples for the shipped manuals held."""
    ordered = sorted(documents, key=lambda d: -d.updated_at)
    examples = shipped_examples()
    offered = [q for d in ordered for q in examples.get(d.name, [])]
    return Welcome(
        documents=len(documents),
        passages=sum(d.chunks for d in documents),
        titles=[d.title or d.name for d in ordered[:SHOWN_TITLES]],
        examples=offered[:2],
    )
