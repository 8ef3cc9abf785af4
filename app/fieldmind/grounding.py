"""Is an answer grounded in the passages it was given? And which passages support it?

A small model asked a question its passages cannot answer still answers, fluently and wrongly, and it cannot
be trusted to say so itself (see llm/prompts.py). What it cannot do is invent words that are in the
passages: an answer's own words, those not taken from the question, must come from the passages. On the
eval set this check caught all 10 unanswerable questions while keeping 10 of 12 right answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, TypeVar

from fieldmind.knowledge.retrieve import STOPWORDS

SUPPORT_THRESHOLD = 0.6
"""Share of the answer's new words that must appear in the passages."""
_WORD = re.compile(r"\w+")
_IGNORED = frozenset({"yes", "no", "text", "manual", "answer", "question", "following"})
_REFUSAL = re.compile(
    r"\b(?:text|manual|document|excerpt|passage)s? (?:does|do) not\b"
    r"|\bnot (?:mentioned|specified|provided|stated|given|found) in\b|\bno information\b",
    re.IGNORECASE,
)


class HasText(Protocol):
    text: str


P = TypeVar("P", bound=HasText)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def new_words(answer: str, question: str) -> list[str]:
    """The answer's content words that it did not take from the question."""
    asked = set(_words(question))
    return [w for w in _words(answer) if w not in STOPWORDS and w not in _IGNORED and w not in asked]


def support(answer: str, question: str, passages: Sequence[HasText]) -> float:
    """Share of the answer's new words found in the passages (0 when it adds nothing to the question)."""
    words = new_words(answer, question)
    if not words:
        return 0.0
    available = set()
    for passage in passages:
        available.update(_words(passage.text))
    return sum(w in available for w in words) / len(words)


def is_refusal(answer: str) -> bool:
    """The model saying, in its own words, that the text does not answer."""
    return bool(_REFUSAL.search(answer))


def is_grounded(answer: str, question: str, passages: Sequence[HasText]) -> bool:
    return not is_refusal(answer) and support(answer, question, passages) >= SUPPORT_THRESHOLD


def rank_citations(answer: str, question: str, passages: Sequence[P]) -> list[P]:
    """The given passages holding the answer's new words, most first; at least the best-retrieved one."""
    words = set(new_words(answer, question))
    scored = [(len(words & set(_words(p.text))), -order, p) for order, p in enumerate(passages)]
    supporting = [p for overlap, _, p in sorted(scored, key=lambda s: (s[0], s[1]), reverse=True) if overlap]
    return supporting or list(passages[:1])
