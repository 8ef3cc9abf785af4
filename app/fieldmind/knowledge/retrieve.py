"""Hybrid retrieval: BM25 keywords (exact part numbers, fault codes, options) fused with dense vectors.

Each ranker proposes candidates; reciprocal rank fusion merges the two lists without having to compare
their scores; near-duplicate passages (overlapping neighbours, the same text in two manuals) collapse into
the best-ranked one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fieldmind.knowledge.store import Store, StoredChunk

RRF_K = 60
CANDIDATES = 40
_TOKEN = re.compile(r"[\w][\w\-:./\\]*[\w]|\w", re.UNICODE)
_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves get got use used using want need make made one also i'm
    what's it's don't whats way ways tell please""".split()
)


@dataclass(frozen=True)
class Passage:
    """A retrieved passage, with where it is and how well it matched."""

    chunk_id: int
    doc_id: str
    doc: str
    page: int | None
    section: str | None
    text: str
    score: float
    """Fused rank score (higher is better); comparable within one query only."""
    similarity: float | None = None
    """Cosine similarity to the question, when the dense ranker saw this passage."""

    def to_json(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "page": self.page,
            "section": self.section,
            "text": self.text,
            "score": round(self.score, 6),
        }

    def citation(self) -> dict[str, Any]:
        return {"doc": self.doc, "page": self.page, "section": self.section, "text": self.text}


def keyword_query(question: str) -> str:
    """An FTS5 expression: every content word ORed, and identifiers also as exact phrases."""
    terms: list[str] = []
    for token in _TOKEN.findall(question):
        words = _WORD.findall(token)
        if len(words) > 1:
            terms.append('"' + " ".join(words) + '"')
        for word in words:
            if word.lower() not in STOPWORDS and (len(word) > 1 or word.isdigit()):
                terms.append(f'"{word}"')
    return " OR ".join(dict.fromkeys(term.lower() for term in terms))


def _shingles(text: str, size: int = 5) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i : i + size]) for i in range(max(1, len(words) - size + 1))}


def near_duplicate(a: str, b: str, threshold: float = 0.6) -> bool:
    """Most of the shorter passage's 5-word shingles appear in the other (overlap, or a copied page)."""
    sa, sb = _shingles(a), _shingles(b)
    if not sa or not sb:
        return False
    return len(sa & sb) / min(len(sa), len(sb)) >= threshold


def hybrid_search(store: Store, query_vector: Any, question: str, k: int) -> list[Passage]:
    """The `k` best passages for a question, fused from keyword and dense rankings, duplicates collapsed."""
    dense = store.vectors.query(query_vector, CANDIDATES) if query_vector is not None else []
    sparse = store.keyword_search(keyword_query(question), CANDIDATES)
    fused: dict[int, float] = {}
    for ranking in (dense, sparse):
        for rank, (chunk_id, _) in enumerate(ranking):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    similarity = dict(dense)
    ordered = sorted(fused, key=lambda cid: fused[cid], reverse=True)
    rows = store.chunks(ordered[: k * 4 + 10])
    chosen: list[StoredChunk] = []
    for chunk_id in ordered:
        row = rows.get(chunk_id)
        if row is None:  # a vector whose passage is gone (an interrupted write): never shown
            continue
        if any(near_duplicate(row.text, kept.text) for kept in chosen):
            continue
        chosen.append(row)
        if len(chosen) == k:
            break
    return [
        Passage(r.id, r.doc_id, r.doc, r.page, r.section, r.text, fused[r.id], similarity.get(r.id))
        for r in chosen
    ]
