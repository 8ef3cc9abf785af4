"""The question's terms, and how candidate texts hold them: BM25 among the candidates, word pairs, coverage,
exact identifiers, whether a number is asked for. SQLite FTS5 (Porter stemming) does the matching, so
"changing" holds "change" without a stemmer of our own.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise

from fieldmind.text import STOPWORDS, WORD, content_terms, question_identifiers

DIGIT = re.compile(r"\d")
_ASKS_NUMBER = re.compile(
    r"\b(?:how (?:many|much|long|often|far|big|large|high|low|hot|cold|soon|fast|old|dark|tight)|what (?:is the )?"
    r"(?:size|torque|temperature|pressure|voltage|current|capacity|number|port|value|interval|limit|maximum|"
    r"minimum|default|percentage|rating|speed|time|weight|length|width|height|gap|clearance|range)|which (?:port|"
    r"value|number|size|version)|at what|default|maximum|minimum|max\b|min\b|interval|torque|pressure|voltage|"
    r"capacity|part number|threshold)",
    re.IGNORECASE,
)


def _fold(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text).strip().casefold()


def holds_identifiers(question: str, text: str) -> float:
    """Share of the question's identifiers found in the text (1.0 when it names none)."""
    names = question_identifiers(question)
    if not names:
        return 1.0
    folded = f" {_fold(text)} "
    return sum(f" {_fold(n)} " in folded for n in names) / len(names)


_LINE_MARKER = re.compile(
    r"^[ \t]*(?:\d{1,3}(?:\.\d{1,3})+\.?|\d{1,3}[.)]|step\s+\d+[:.])(?=\s)", re.IGNORECASE | re.MULTILINE
)
"""The number that opens a numbered heading ("6.5.2 Fill the boxes"), a list item ("3. ") or a step ("Step 2:")."""


def holds_value(text: str) -> bool:
    """Whether the text states a number, not counting those that number its headings, list items and steps:
    "6.5.2 Fill the boxes" states no value."""
    return bool(DIGIT.search(_LINE_MARKER.sub(" ", text)))


def asks_for_number(question: str) -> bool:
    """Questions whose answer is a quantity, a setting or a part number: a stretch without digits rarely answers."""
    return bool(_ASKS_NUMBER.search(question))


_ASKS_DEFAULT = re.compile(
    r"\b(?:default|out of the box|if (?:i|you|we) (?:don't|do not) (?:specify|give|set)|without (?:giving|setting|"
    r"specifying)|not given)\b",
    re.IGNORECASE,
)
SAYS_DEFAULT = re.compile(r"\bdefault", re.IGNORECASE)


def asks_for_default(question: str) -> bool:
    """Questions about what holds when nothing is set ("the default POLLTIME", "without giving a number"): the
    manual answers them in a line that says "default" ("an option (default is 5)"), a word too common among the
    candidates for BM25 to weigh."""
    return bool(_ASKS_DEFAULT.search(question))


def question_phrases(question: str) -> list[str]:
    """Pairs of words next to each other in the question, stop words aside ("oil change", "change interval")."""
    words = [w.lower() for w in WORD.findall(question)]
    pairs = pairwise(words)
    return list(dict.fromkeys(f"{a} {b}" for a, b in pairs if a not in STOPWORDS and b not in STOPWORDS))


@dataclass(frozen=True)
class TermMatches:
    """How each candidate text holds the question's terms."""

    keyword: list[float]
    """BM25 of the question's terms in each text, among these texts, max-normalised."""
    phrase: list[float]
    """The same for the question's word pairs, as phrases."""
    coverage: list[float]
    """Share of the question's topic terms each text holds (empty unless asked for)."""


@contextmanager
def stemmed(texts: Sequence[str]) -> Iterator[sqlite3.Connection]:
    """The texts in an in-memory FTS5 table `u` (rowid = index), Porter-stemmed: "changing" holds "change"."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE u USING fts5(text, tokenize='porter unicode61 remove_diacritics 2')")
        db.executemany("INSERT INTO u(rowid, text) VALUES (?, ?)", list(enumerate(texts)))
        yield db
    finally:
        db.close()


def match_terms(question: str, texts: Sequence[str], coverage: bool = False) -> TermMatches:
    """The question's terms, word pairs and (with `coverage`) topic terms in each text: one in-memory FTS5
    table of the candidates (`stemmed`) answers all three."""
    with stemmed(texts) as db:
        return TermMatches(
            keyword=_bm25(db, content_terms(question), len(texts)),
            phrase=_bm25(db, question_phrases(question), len(texts)),
            coverage=_coverage(db, topic_terms(question), len(texts)) if coverage else [],
        )


def _phrase(term: str) -> str:
    return '"' + term.replace('"', "") + '"'


def _bm25(db: sqlite3.Connection, terms: list[str], count: int) -> list[float]:
    scores = [0.0] * count
    if not terms or not count:
        return scores
    try:
        match = " OR ".join(_phrase(t) for t in terms)
        rows = db.execute("SELECT rowid, -bm25(u) FROM u WHERE u MATCH ?", (match,)).fetchall()
    except sqlite3.OperationalError:
        return scores
    top = max((float(s) for _, s in rows), default=0.0)
    for rowid, score in rows:
        scores[int(rowid)] = float(score) / top if top > 0 else 0.0
    return scores


def _coverage(db: sqlite3.Connection, terms: list[str], count: int) -> list[float]:
    counts = [0] * count
    if not terms or not count:
        return [0.0] * count
    try:
        for term in terms:
            for (rowid,) in db.execute("SELECT rowid FROM u WHERE u MATCH ?", (_phrase(term),)):
                counts[int(rowid)] += 1
    except sqlite3.OperationalError:
        return [0.0] * count
    return [c / len(terms) for c in counts]


QUESTION_WORDS = frozenset(
    "much many long soon often take takes big bigger small kind sort thing things work works able still every "
    "anything something happen happens go goes put".split()
)
"""Words of how a question is asked ("how much", "how soon"), not of what it is about."""


def topic_terms(question: str) -> list[str]:
    """The content terms that say what the question is about."""
    return [t for t in content_terms(question) if t not in QUESTION_WORDS]
