"""Choosing the evidence: which stretch of the retrieved pages answers the question.

Candidates are the units (sentences, list items, table rows, headings) of each retrieved passage and of its
neighbours on the same page. Two stages:

1. every unit is ranked, with no embedding, by the BM25 weight of the question's terms and word pairs it holds
   (SQLite FTS5 over the candidates, so a term rare among them counts most) plus its passage's similarity;
2. from each of the best units a window starts: that unit and the one or two after it on the page, up to
   MAX_WINDOW_WORDS (a table row stands alone, under its header row). Manuals often name the thing in one
   sentence and give its value in the next ("POLLTIME … The default of 60 is …"). A window is read under its
   section's path ("A.1.3 Unix Port Names" over `Linux | /dev/ttyS0`: the heading names what the lines do
   not) and scores its similarity to the question (MiniLM), its BM25 and phrase scores, its passage's
   retrieval score, whether it holds a number when the question asks for one, and whether it holds the
   identifiers the question names. Reading under the section put the key fact in the best window for 60 of
   90 answerable questions instead of 51 (calibration sets 34 → 39 of 60, held-out sets 17 → 21 of 30).

Then `confidence` decides whether the best window is the answer, the closest lines, or nothing. Measured on
question sets over five real manuals (`bench/answers.py`, which anyone can rerun): the weights of the
confidence and its threshold were chosen on three of the sets and the other two are held out. The model never
takes part in choosing the facts: letter-choice and yes/no prompts
with the 0.5B and 1.5B models did no better than similarity (the 0.5B model's P(yes) was 0.37 for right and for
wrong stretches alike).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fieldmind.answers.terms import (
    SAYS_DEFAULT,
    asks_for_default,
    asks_for_number,
    holds_identifiers,
    holds_value,
    match_terms,
)
from fieldmind.answers.units import Span, split_units
from fieldmind.knowledge.context import PageContext
from fieldmind.knowledge.retrieve import Passage

if TYPE_CHECKING:
    from fieldmind.knowledge.embedder import Vectors

NEIGHBOUR_CHARS = 700
"""How far around its passage a page's units are candidates (a page of a PDF is usually all of it)."""
WINDOW_STARTS = 12
"""Windows are built from this many of the best units; each is embedded (~20 ms). 20 chose no better."""
MAX_WINDOW_UNITS = 3
MAX_WINDOW_WORDS = 60
"""What is shown as the answer stays short; the rest is in the sources."""


@dataclass(frozen=True)
class Weights:
    """How the scores add up, and below which total the documents are taken not to hold the answer."""

    unit_keyword: float = 0.3
    keyword: float = 0.3
    phrase: float = 0.2
    passage: float = 1.0
    number: float = 0.2
    """Bonus of a window that states a number (`holds_value`: not the numbers of its headings, list items and
    steps) when the question asks for one. 0.2 is the smallest of 0.1, 0.15, 0.2 and 0.3 whose fitted confidence
    does best on the calibration sets (33 right and 3 wrong of 60, against 29 and 2 at 0.1)."""
    default: float = 0.05
    """Bonus of a window that says "default" when the question asks for one (`asks_for_default`). Measured on six
    question sets: the best window held the key for 3 more answerable questions of 105 (80, not 77) and for none
    fewer; 0.1 and more chose no better, and cues for "how often" and "how long" changed nothing."""
    margin: float = 0.5
    coverage: float = 0.4
    """Weight, in the confidence, of the share of the question's topic terms the best window holds."""
    absent: float = 0.2
    identifier: float = 1.0
    """Weight of the share of the question's exact identifiers (`E05`) the window holds, in score and confidence."""
    threshold: float = 0.975
    """Confidence at or above which the best window is the answer. Fitted with `margin` and `coverage` on three
    question sets (shared, apcupsd, demo; `bench/answers.py --fit`), a confident wrong answer cancelling three
    right ones (`WRONG_COST`): 33 right and 3 wrong of 60 there. Neighbours: 0.95 the same, 0.9 two more right
    and one more wrong, 1.0 one fewer right."""
    reader: float = 0.0
    """Weight of the reader's logit (`answers/reader.py`) in a window's score, when the reader is used."""
    read_confidence: float = 0.0
    """Weight of the best window's reader logit added to today's confidence: the reader as one more feature of
    found / not found, the ranking left as it is (`reader` 0). Round 32's reader raised the AUC on both sides at
    0.05, but no fitted threshold gave better answers held out (docs/quality.md); 0 while no reader ships."""
    reader_confidence: bool = False
    """The confidence rests on the reader's logit of the best window (and its lead over the best window of any
    other page) instead of its similarity; `threshold` and `closest` are then on the logit's scale."""
    closest: float = 0.6
    """Between this and `threshold`: "not found", with the best window shown as the closest lines. Set (not
    fitted) so they are shown for as few unanswerable questions as with the previous weights (7 of 34), and for
    29 of the 33 answerable questions not found (18 of them hold the key)."""


WEIGHTS = Weights()
"""Without the reader (its file missing or damaged): today's hand-weighted scores."""
READ_WEIGHTS = Weights(reader=0.2, reader_confidence=True, margin=0.25, coverage=0.0, threshold=0.0, closest=-1.5)
"""With the reader (`answers/reader.py`). No reader ships yet (none beat WEIGHTS), so these are a starting point,
not a fit: the reader that ships sets them from `bench/answers.py --reader FILE --fit` on the calibration sets."""


def weights_for(reader: bool) -> Weights:
    return READ_WEIGHTS if reader else WEIGHTS


@dataclass(frozen=True)
class Unit:
    """One unit of a retrieved page, with the passage it came with and its own score."""

    passage: Passage
    rank: int
    """The rank of the passage it came with (0 = best retrieved)."""
    span: Span
    view: str
    """Which page (or section) text it is in: "manual.pdf, page 6"."""
    page_text: str
    header: str | None
    """For a table row, its table's header row."""
    keyword: float = 0.0
    phrase: float = 0.0

    @property
    def text(self) -> str:
        return self.page_text[self.span.start : self.span.end]

    def embedding_text(self) -> str:
        return f"{self.header}\n{self.text}" if self.header else self.text


@dataclass(frozen=True)
class Window:
    """A stretch of one to three consecutive units of a page: what is quoted when it wins."""

    units: tuple[Unit, ...]
    similarity: float = 0.0
    """MiniLM similarity of the window under its section's path (`scoring_text`): what ranks it."""
    lines_similarity: float | None = None
    """Similarity of the lines alone, measured for the best window only: what the confidence rests on (the
    section's path says where the lines are, not that they answer)."""
    keyword: float = 0.0
    phrase: float = 0.0
    named: float = 1.0
    """Share of the question's identifiers the window holds."""
    coverage: float = 0.0
    """Share of the question's topic terms (Porter-stemmed) in the window or its section's path."""
    numeric: bool = False
    says_default: bool = False
    """The question asks for a default and the window says "default"."""
    read: float | None = None
    """The reader's logit for the window under its section's path (None without the reader)."""
    score: float = 0.0

    @property
    def first(self) -> Unit:
        return self.units[0]

    @property
    def passage(self) -> Passage:
        return self.first.passage

    @property
    def start(self) -> int:
        return self.first.span.start

    @property
    def end(self) -> int:
        return self.units[-1].span.end

    @property
    def text(self) -> str:
        """The window verbatim from its page's text."""
        return self.first.page_text[self.start : self.end]

    @property
    def header(self) -> str | None:
        return self.first.header

    def embedding_text(self) -> str:
        return f"{self.header}\n{self.text}" if self.header else self.text

    def scoring_text(self) -> str:
        """What the window is compared with the question as: under its section's path, which says what the
        lines are about when they do not ("Unix Port Names" above `Linux | /dev/ttyS0`). Its own heading lines
        are left out when it has others: the path already names the section, and a heading counted twice drew
        the choice to a section's opening lines rather than the sentence that answers (best stretch 71 → 73 of
        105; the shared set 17 → 18, AVRDUDE 9 → 10, no set lower)."""
        section = self.passage.section
        body = [u for u in self.units if u.span.kind != "heading"]
        text = "\n".join(u.embedding_text() for u in body) if 0 < len(body) < len(self.units) else self.embedding_text()
        return f"{section}\n{text}" if section and section not in text else text


def gather(passages: Sequence[Passage], context: Callable[[Passage], PageContext]) -> list[Unit]:
    """The units of each passage and its page neighbours, in page order; a unit seen twice keeps its best passage."""
    seen: dict[tuple[str, str, int], Unit] = {}
    units_of: dict[tuple[str, str], tuple[str, list[Span]]] = {}
    for rank, passage in enumerate(passages):
        view = context(passage)
        key = (passage.doc_id, view.title)
        if key not in units_of:
            units_of[key] = (view.text, split_units(view.text))
        text, spans = units_of[key]
        low = view.start - NEIGHBOUR_CHARS if view.start >= 0 else 0
        high = view.end + NEIGHBOUR_CHARS if view.start >= 0 else len(view.text)
        for span in spans:
            if span.end <= low or span.start >= high:
                continue
            place = (passage.doc_id, view.title, span.start)
            if place not in seen:
                header = text[span.header[0] : span.header[1]] if span.header else None
                seen[place] = Unit(passage, rank, span, view.title, text, header)
    return sorted(seen.values(), key=lambda u: (u.passage.doc_id, u.rank, u.span.start))


def _similarities(question_vector: Vectors, texts: list[str], encode: Callable[[list[str]], Vectors]) -> list[float]:
    import numpy as np

    if not texts:
        return []
    vectors = np.asarray(encode(texts), dtype=np.float32)
    return [float(x) for x in vectors @ np.asarray(question_vector, dtype=np.float32)]


def unit_score(unit: Unit, weights: Weights) -> float:
    passage = unit.passage.similarity if unit.passage.similarity is not None else unit.passage.score
    return passage + weights.unit_keyword * unit.keyword + weights.phrase * unit.phrase


def score_units(question: str, units: Sequence[Unit], weights: Weights = WEIGHTS) -> list[Unit]:
    """Stage 1, without embedding anything: the question's terms and word pairs in each unit, plus its
    passage's similarity; best first. (Embedding every unit cost 0.7 s a question on 2 cores and chose no
    better: 19 right of 60 either way on the calibration sets.)"""
    from dataclasses import replace

    texts = [u.embedding_text() for u in units]
    matches = match_terms(question, texts)
    scored = [replace(u, keyword=k, phrase=p) for u, k, p in zip(units, matches.keyword, matches.phrase, strict=True)]
    return sorted(scored, key=lambda u: unit_score(u, weights), reverse=True)


def _window_from(unit: Unit, page_units: list[Unit]) -> tuple[Unit, ...]:
    """The unit and the ones after it on its page, while they fit. A table row stands alone: with its header
    row it says all it has to say, and the next row is another answer."""
    if unit.span.kind == "row":
        return (unit,)
    index = next(i for i, u in enumerate(page_units) if u.span.start == unit.span.start)
    chosen = [page_units[index]]
    words = len(unit.text.split())
    for following in page_units[index + 1 : index + MAX_WINDOW_UNITS]:
        more = len(following.text.split())
        if words + more > MAX_WINDOW_WORDS or following.span.kind == "row":
            break
        chosen.append(following)
        words += more
    return tuple(chosen)


def windows(ranked_units: Sequence[Unit]) -> list[tuple[Unit, ...]]:
    """Windows starting at each of the best units (distinct, in order of their first unit's score)."""
    pages: dict[tuple[str, str], list[Unit]] = {}
    for unit in sorted(ranked_units, key=lambda u: u.span.start):
        pages.setdefault((unit.passage.doc_id, unit.view), []).append(unit)
    return [_window_from(unit, pages[(unit.passage.doc_id, unit.view)]) for unit in ranked_units[:WINDOW_STARTS]]


def rival(window: Window, best: Window) -> bool:
    """Another page that competes with the best one: not the same page, and not a page of a document tagged
    for another asset or model (that is an alternative the answer shows beside it, not a doubt about it), nor
    another revision of the same document."""
    if (window.passage.doc_id, window.first.view) == (best.passage.doc_id, best.first.view):
        return False
    ours, theirs = best.passage, window.passage
    if ours.tags and theirs.tags and ours.tags != theirs.tags:
        return False
    return not (ours.document is not None and ours.document == theirs.document and ours.doc_id != theirs.doc_id)


def confidence(ranked: Sequence[Window], absent: int, weights: Weights = WEIGHTS) -> float:
    """How sure the best window answers: its own similarity to the question, how far it leads the best window
    of any other page, less a share for each term of the question found nowhere in the library.

    Kept apart from the ranking score on purpose: the passage score's scale shifts with the size of the
    library (a ten-page manual scores lower than a hundred-page one), the similarity and the lead do not.
    It rests on the similarity of the lines alone (the section's path helps rank, but says where the lines are,
    not that they answer), plus a share for how many of the question's topic terms the window holds. Measured
    over 75 answerable and 24 unanswerable questions: no single feature separated right from wrong better
    (ROC AUC 0.81 for this one, 0.77 for the ranking score); the unanswerable questions are the ones that
    name what the manuals never mention ("warranty", "turbocharger"), hence the absent terms.
    """
    if not ranked:
        return 0.0
    best = ranked[0]
    missing = weights.identifier * (1.0 - best.named)
    if weights.reader_confidence and best.read is not None:
        read_others = (w.read for w in ranked[1:] if w.read is not None and rival(w, best))
        read_lead = best.read - max(read_others, default=best.read - 1.0)
        penalties = weights.absent * absent + missing
        return best.read + weights.margin * read_lead + weights.coverage * best.coverage - penalties
    others = (w.score for w in ranked[1:] if rival(w, best))
    lead = best.score - next(others, best.score - 1.0)
    alone = best.similarity if best.lines_similarity is None else best.lines_similarity
    read = weights.read_confidence * (best.read or 0.0)
    return alone + weights.margin * lead + weights.coverage * best.coverage - weights.absent * absent - missing + read


def total(window: Window, weights: Weights) -> float:
    return (
        window.similarity
        + weights.keyword * window.keyword
        + weights.phrase * window.phrase
        - weights.identifier * (1.0 - window.named)
        + weights.passage * window.passage.score
        + weights.number * window.numeric
        + weights.default * window.says_default
        + weights.reader * (window.read or 0.0)
    )


def rank(windows: Sequence[Window], weights: Weights) -> list[Window]:
    """The windows scored with `weights`, best first."""
    from dataclasses import replace

    return sorted((replace(w, score=total(w, weights)) for w in windows), key=lambda w: w.score, reverse=True)


def score(
    question: str,
    question_vector: Vectors,
    units: Sequence[Unit],
    encode: Callable[[list[str]], Vectors],
    weights: Weights = WEIGHTS,
    read: Callable[[str, list[str]], list[float]] | None = None,
) -> list[Window]:
    """Stage 2: the windows with their scores, best first. `read` is the reader, when there is one."""
    from dataclasses import replace

    ranked_units = score_units(question, units, weights)
    spans = windows(ranked_units)
    if not spans:
        return []
    drafts = [Window(units=w) for w in spans]
    texts = [w.scoring_text() for w in drafts]
    similarities = _similarities(question_vector, texts, encode)
    matches = match_terms(question, texts, coverage=True)
    wants_number, wants_default = asks_for_number(question), asks_for_default(question)
    reads: list[float | None] = list(read(question, texts)) if read is not None else [None] * len(texts)
    scored = []
    for draft, similarity, keyword, phrase, coverage, reading in zip(
        drafts, similarities, matches.keyword, matches.phrase, matches.coverage, reads, strict=True
    ):
        numeric = wants_number and holds_value(draft.text)
        named = holds_identifiers(question, draft.embedding_text())
        window = replace(
            draft,
            similarity=similarity,
            keyword=keyword,
            phrase=phrase,
            named=named,
            numeric=numeric,
            says_default=wants_default and bool(SAYS_DEFAULT.search(draft.text)),
            coverage=coverage,
            read=reading,
        )
        scored.append(window)
    ranked = rank(scored, weights)
    best, alone = ranked[0], ranked[0].embedding_text()
    if alone == best.scoring_text():
        ranked[0] = replace(best, lines_similarity=best.similarity)
    else:
        ranked[0] = replace(best, lines_similarity=_similarities(question_vector, [alone], encode)[0])
    return ranked
