"""The facts check: a model-written short answer is shown only if it says what the quote says.

A fact is anything a technician would act on: a number (with its unit), a part number, a code, an
identifier, a file path. Each must appear verbatim (case and spacing aside) in the quoted text, so Fieldmind
never shows a number the manual does not hold. Words may differ, a little: the answer may bring one word of its
own ("take", "adds"), not a claim (`faithful`).
"""

from __future__ import annotations

import re

from fieldmind.answers.terms import stemmed
from fieldmind.text import FACT_IDENTIFIER, NUMBER, NUMBER_WITH_UNIT, content_terms

_RANGE = re.compile(r"(?<![\w.,-])(\d+(?:[.,]\d+)?)\s*(?:to|-|–|—)\s*(\d+(?:[.,]\d+)?)(?![\w-])")
OWN_WORDS = 1
"""Words of its own a short answer may use, beyond the quote's and the question's (stemmed; stop words aside).
Chosen on the calibration sets' short answers by the default model (`bench/short_answers.py`): at 1 they show
all 21 that hold the key and 3 of the 7 that miss it which the facts alone let through (5 at 2 or more; at 0
one that holds the key is refused).
Over all six sets the whole check shows 42 of 42 short answers that hold the key, 9 of 18 that miss it (15 with
the facts alone) and 4 of 8 written over a wrong quote (6): "Fault code E05 indicates an overspeed condition."
over a quote whose E05 row reads "Overload" is no longer shown."""
ANSWER_WORDS = frozenset("yes must may might shall cannot".split())
"""Words of how an answer is put, not of what it says."""
_SPACE = re.compile(r"\s+")
_WORD_UNITS = frozenset(
    "mm cm m km in ft nm n·m lb lbf lbs psi bar kpa mpa pa v mv kv a ma w kw hp hz khz mhz rpm l ml gal qt s ms "
    "min h hours hour minutes minute seconds second days day weeks week months month years year degrees deg °c °f "
    "c f % kg g oz ohm ω percent times cycles cycle".split()
)


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def numbers(text: str) -> set[str]:
    """The numbers in a text, as written."""
    return {m.group(0).strip() for m in NUMBER.finditer(text)}


def facts(text: str) -> set[str]:
    """The numbers, numbers with units, and identifiers in a text."""
    found = {m.group(0).strip() for m in NUMBER.finditer(text)}
    for match in NUMBER_WITH_UNIT.finditer(text):
        if match.group(1).casefold().rstrip(".") in _WORD_UNITS:
            found.add(match.group(0).strip())
    found.update(m.group(0).rstrip(".:/") for m in FACT_IDENTIFIER.finditer(text))
    return {f for f in found if f}


def _present(fact: str, folded_source: str) -> bool:
    folded = _fold(fact)
    if folded in folded_source:
        return True
    return folded.replace(" ", "") in folded_source.replace(" ", "")


def unsupported_facts(answer: str, source: str) -> list[str]:
    """The facts of `answer` that `source` does not hold, verbatim."""
    folded = _fold(source)
    return sorted(f for f in facts(answer) if not _present(f, folded))


def facts_supported(answer: str, source: str) -> bool:
    return not unsupported_facts(answer, source)


def splits_range(answer: str, source: str) -> bool:
    """Whether the answer gives one end of a range the source states ("12 mm" for "10 to 12 mm")."""
    said = numbers(answer)
    return any((low in said) != (high in said) for low, high in _RANGE.findall(source))


def _words(text: str) -> list[str]:
    return [w for w in content_terms(text) if not w.isdigit() and w not in ANSWER_WORDS]


def words_not_in(answer: str, *sources: str) -> list[str]:
    """The answer's content words that none of the sources holds, Porter-stemmed (`terms.stemmed`), so
    "indicates" is in a text that says "indicated"."""
    words = _words(answer)
    if not words:
        return []
    with stemmed(sources) as db:
        return [w for w in words if not db.execute("SELECT 1 FROM u WHERE u MATCH ?", (f'"{w}"',)).fetchone()]


def restates(answer: str, question: str) -> bool:
    """Whether the answer says nothing the question did not: no word or fact of the quote's ("Yes, you can put
    a long command line into a file." — and a bare "Yes." on a quote that says "they must not")."""
    folded = _fold(question)
    return not words_not_in(answer, question) and all(_present(f, folded) for f in facts(answer))


def faithful(answer: str, quote: str, question: str) -> bool:
    """Whether the short answer may be shown above the quote: every fact of it in the quote, no range cut to
    one end, no more than OWN_WORDS words from outside the quote and question, and something the question
    did not already say. Measured: see OWN_WORDS."""
    return (
        facts_supported(answer, quote)
        and not splits_range(answer, quote)
        and len(words_not_in(answer, quote, question)) <= OWN_WORDS
        and not restates(answer, question)
    )
