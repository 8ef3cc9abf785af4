"""The facts check: a model-written short answer is shown only if every fact in it is in the quote.

A fact is anything a technician would act on: a number (with its unit), a part number, a code, an
identifier. Each must appear verbatim (case and spacing aside) in the quoted text, so Fieldmind never
shows a number the manual does not hold. Words may differ; facts may not.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,:/]\d+)*(?:\s?%)?")
_NUMBER_WITH_UNIT = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*\s?([A-Za-zµΩ°·/]+(?:·[A-Za-z]+)?)")
_IDENTIFIER = re.compile(
    r"(?<!\w)(?:[A-Z][A-Z0-9]{2,}|[A-Za-z]+[-_:./][A-Za-z0-9][\w\-:./]*|[A-Za-z]*\d+[A-Za-z][\w\-]*"
    r"|[a-z]+[A-Z]\w*|--?[a-z][\w-]+|\\[A-Za-z]+)(?!\w)"
)
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
    return {m.group(0).strip() for m in _NUMBER.finditer(text)}


def facts(text: str) -> set[str]:
    """The numbers, numbers with units, and identifiers in a text."""
    found = {m.group(0).strip() for m in _NUMBER.finditer(text)}
    for match in _NUMBER_WITH_UNIT.finditer(text):
        if match.group(1).casefold().rstrip(".") in _WORD_UNITS:
            found.add(match.group(0).strip())
    found.update(m.group(0).rstrip(".:/") for m in _IDENTIFIER.finditer(text))
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
