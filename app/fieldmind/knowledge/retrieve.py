"""Hybrid retrieval: BM25 keywords (exact part numbers, fault codes, options) fused with dense vectors.

Each ranker proposes candidates; a candidate's score is its cosine similarity to the question plus its
keyword evidence; near-duplicate passages (overlapping neighbours, the same text in two manuals) collapse into
the best-ranked one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fieldmind.citations import cited_json
from fieldmind.knowledge.store import Store, StoredChunk
from fieldmind.text import NUMBERS, content_terms, identifier_phrases

if TYPE_CHECKING:
    from fieldmind.knowledge.embedder import Vectors

CANDIDATES = 40
RARE_FRACTION = 0.02
"""A word found in at most this share of passages is specific to what the question is about."""
IDENTIFIER_FACTOR = 3
"""Identifiers (option names, part numbers) stay specific up to three times as common as plain words."""
SPECIFIC_WEIGHT = 0.3
"""How much specific-term BM25 (max-normalised) adds to cosine similarity; chosen on the eval set
(bench/tune_retrieval.py). BM25 over all the question's words added nothing there, and is slow at scale."""


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
    ocr: float | None = None
    """The OCR confidence (0-1) of the scanned page it was read from; None when the page had a text layer."""
    document: str | None = None
    """The document's stable id across revisions (`doc_id` in JSON); `doc_id` here is its file in the index."""
    title: str | None = None
    revision: str | None = None
    effective: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return self.citation() | {"score": round(self.score, 6)}

    def citation(self) -> dict[str, Any]:
        """The passage as `ask --json` cites it: the document's stable id, title and revision, and its file."""
        return cited_json(self) | {"tags": dict(self.tags)}


def specific_query(store: Store, question: str, total: int) -> str:
    """Only the question's rare terms (identifiers, words found in few passages), ORed; "" if none.

    A fault code or an option name is what the question is about; BM25 over it alone finds the
    passage even when common words of the question match many others better.
    """
    rare = max(3, int(total * RARE_FRACTION))
    terms: list[str] = []
    for phrase in identifier_phrases(question):
        quoted = f'"{phrase.lower()}"'
        if 0 < store.match_count(quoted, rare * IDENTIFIER_FACTOR + 1) <= rare * IDENTIFIER_FACTOR:
            terms.append(quoted)
    for word in content_terms(question):
        quoted = f'"{word}"'
        if quoted not in terms and 0 < store.match_count(quoted, rare + 1) <= rare:
            terms.append(quoted)
    return " OR ".join(dict.fromkeys(terms))


def _shingles(text: str, size: int = 5) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i : i + size]) for i in range(max(1, len(words) - size + 1))}


def near_duplicate(a: str, b: str, threshold: float = 0.6) -> bool:
    """Most of the shorter passage's 5-word shingles appear in the other (overlap, or a copied page)."""
    sa, sb = _shingles(a), _shingles(b)
    if not sa or not sb:
        return False
    return len(sa & sb) / min(len(sa), len(sb)) >= threshold


def duplicates(a: StoredChunk, b: StoredChunk) -> bool:
    """The same text twice (overlapping neighbours, a manual copied into another): show it once. Not when
    the numbers differ (two assets' manuals with one value changed: that difference is the answer) nor
    between two revisions of one document (asked for on purpose)."""
    if a.document is not None and a.document == b.document and a.doc_id != b.doc_id:
        return False
    return near_duplicate(a.text, b.text) and NUMBERS.findall(a.text) == NUMBERS.findall(b.text)


def _normalised(ranking: list[tuple[int, float]]) -> dict[int, float]:
    top = max((score for _, score in ranking), default=0.0)
    return {cid: score / top for cid, score in ranking} if top > 0 else {}


EXACT_BELOW = 0.25
"""When a filter admits less than this share of the passages, the dense ranker scores exactly the admitted
passages' vectors (held in memory per filter) instead of over-fetching from the HNSW index."""
OVERFETCH = 1.5
KEYWORD_OVERFETCH_CAP = 200
"""Keyword candidates asked of FTS5 under a filter, at most: rare terms match few passages anyway."""


@dataclass
class Allowed:
    """The passages a filter (scope, current revisions) admits, and, when few, their vectors for exact search."""

    chunk_ids: frozenset[int]
    total: int
    ids: list[int]
    matrix: Vectors | None = None
    _rows: dict[int, int] = field(default_factory=dict)

    @property
    def share(self) -> float:
        return len(self.chunk_ids) / self.total if self.total else 1.0

    @classmethod
    def build(cls, store: Store, doc_ids: set[str]) -> Allowed:
        import numpy as np

        ids = store.chunk_ids_of(doc_ids)
        allowed = cls(frozenset(ids), store.counts()["chunks"], ids)
        if ids and allowed.share < EXACT_BELOW:
            allowed.matrix = np.asarray(store.vectors.vectors(ids), dtype=np.float32)
        return allowed

    def similarities(self, store: Store, ids: list[int], query_vector: Vectors) -> dict[int, float]:
        """Exact similarities of some admitted passages: from the vectors in memory when held (a Chroma
        lookup by id cost more than the rest of a filtered search), else from the store."""
        import numpy as np

        if self.matrix is None:
            return store.vectors.similarities(ids, query_vector)
        if not self._rows:
            self._rows = {cid: row for row, cid in enumerate(self.ids)}
        rows = [(cid, self._rows[cid]) for cid in ids if cid in self._rows]
        if not rows:
            return {}
        scores = self.matrix[[row for _, row in rows]] @ np.asarray(query_vector, dtype=np.float32)
        return {cid: float(score) for (cid, _), score in zip(rows, scores, strict=True)}

    def dense(self, store: Store, query_vector: Vectors, n: int) -> list[tuple[int, float]]:
        """The `n` admitted passages most similar to the question, best first."""
        import numpy as np

        if not self.ids:
            return []
        if self.matrix is not None:
            scores = self.matrix @ np.asarray(query_vector, dtype=np.float32)
            best = np.argpartition(-scores, n)[:n] if len(scores) > n else np.arange(len(scores))
            top = best[np.argsort(-scores[best])]
            return [(self.ids[i], float(scores[i])) for i in top]
        wanted = min(self.total, int(n / self.share * OVERFETCH) + 1)
        return [hit for hit in store.vectors.query(query_vector, wanted) if hit[0] in self.chunk_ids][:n]


def hybrid_search(
    store: Store, query_vector: Vectors, question: str, k: int, allowed: Allowed | None = None
) -> list[Passage]:
    """The `k` best passages for a question: dense similarity plus keyword evidence, duplicates collapsed.

    Candidates come from two rankers (dense vectors, and BM25 over the question's specific terms); each
    candidate's score is its exact cosine similarity to the question plus its weighted, max-normalised
    BM25 score. Measured on the eval set, this beat reciprocal rank fusion
    (recall@1 0.77 vs 0.57, recall@5 1.0 vs 0.97), and its scale means the same across questions.
    """
    total = store.counts()["chunks"]
    if allowed is None:
        dense = store.vectors.query(query_vector, min(CANDIDATES, total))
        keywords = store.keyword_search(specific_query(store, question, total), CANDIDATES)
    else:
        dense = allowed.dense(store, query_vector, CANDIDATES)
        wanted = min(KEYWORD_OVERFETCH_CAP, int(CANDIDATES / max(allowed.share, 0.01) * OVERFETCH) + 1)
        keywords = store.keyword_search(specific_query(store, question, total), wanted)
        keywords = [hit for hit in keywords if hit[0] in allowed.chunk_ids][:CANDIDATES]
    specific = _normalised(keywords)
    candidates = list(dict.fromkeys([cid for cid, _ in dense] + list(specific)))
    similarity = dict(dense)
    missing = [cid for cid in candidates if cid not in similarity]
    if allowed is None:
        similarity.update(store.vectors.similarities(missing, query_vector))
    else:
        similarity.update(allowed.similarities(store, missing, query_vector))
    scores = {cid: similarity.get(cid, 0.0) + SPECIFIC_WEIGHT * specific.get(cid, 0.0) for cid in candidates}
    ordered = sorted(scores, key=lambda cid: scores[cid], reverse=True)
    rows = store.chunks(ordered[: k * 4 + 10])
    chosen: list[StoredChunk] = []
    for chunk_id in ordered:
        row = rows.get(chunk_id)
        if row is None:  # a vector whose passage is gone (an interrupted write): never shown
            continue
        if any(duplicates(row, kept) for kept in chosen):
            continue
        chosen.append(row)
        if len(chosen) == k:
            break
    return [
        Passage(
            r.id,
            r.doc_id,
            r.doc,
            r.page,
            r.section,
            r.text,
            scores[r.id],
            similarity.get(r.id),
            r.ocr,
            r.document,
            r.title,
            r.revision,
            r.effective,
            json.loads(r.tags or "{}"),
        )
        for r in chosen
    ]
