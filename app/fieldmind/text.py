"""Text rules shared by retrieval and answers: stop words, a question's content words, the identifiers it
names, and the numbers and identifiers a sentence states. One place, so "an identifier" means one thing per use.

Three uses of "identifier", each its own rule because each asks a different question (measured as they are):
- `identifier_phrases`: retrieval's rare phrases — any token of several parts (`low-battery`, `Email::Address`)
  is searched as a phrase in the keyword index;
- `question_identifiers`: what a question names exactly (codes, part numbers, options); a stretch that lacks one
  is about something else;
- `FACT_IDENTIFIER`: what a short answer states that must be in the quote — also file paths (`/etc/nut`).
"""

from __future__ import annotations

import re

WORD = re.compile(r"\w+", re.UNICODE)
TOKEN = re.compile(r"[\w][\w\-:./\\]*[\w]|\w", re.UNICODE)
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


def content_terms(text: str) -> list[str]:
    """Its words that carry meaning, lower-cased, each once: stop words and single letters aside (digits kept)."""
    words = [w.lower() for w in WORD.findall(text)]
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())))


def identifier_phrases(question: str) -> list[str]:
    """Tokens written like identifiers: `--seuil-up`, `Email::Address`, `\\AMCaddpagesto`, `NW-FF-0875`."""
    found = []
    for token in TOKEN.findall(question):
        words = WORD.findall(token)
        inner_caps = any(c.isupper() for c in token[1:]) and any(c.islower() for c in token)
        has_digit = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
        if len(words) > 1 or inner_caps or has_digit:
            found.append(" ".join(words))
    return found


NAMED_IDENTIFIER = re.compile(
    r"(?<![\w-])(?:--?[a-z][\w-]*|\\[A-Za-z]+|[A-Za-z]+(?:::[A-Za-z]+)+|(?=[\w./-]*\d)(?=[\w./-]*[A-Za-z])"
    r"[A-Za-z0-9][\w./-]*[A-Za-z0-9]|[A-Z][A-Z0-9_]{3,}|[a-z]+[A-Z]\w*)(?![\w-])"
)


def question_identifiers(question: str) -> list[str]:
    """What the question names exactly: codes, part numbers, options, directives (`E05`, `NW-FF-0875`,
    `--seuil-up`, `BATTERYLEVEL`, `Email::Address`). A window that lacks one is about something else."""
    return list(dict.fromkeys(m.group(0).rstrip(".") for m in NAMED_IDENTIFIER.finditer(question)))


NUMBERS = re.compile(r"\d+(?:[.,]\d+)*")
"""Runs of digits with their separators: two passages stating the same numbers."""
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,:/]\d+)*(?:\s?%)?")
NUMBER_WITH_UNIT = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*\s?([A-Za-zµΩ°·/]+(?:·[A-Za-z]+)?)")
FACT_IDENTIFIER = re.compile(
    r"(?<!\w)(?:[A-Z][A-Z0-9]{2,}|[A-Za-z]+[-_:./][A-Za-z0-9][\w\-:./]*|[A-Za-z]*\d+[A-Za-z][\w\-]*"
    r"|[a-z]+[A-Z]\w*|--?[a-z][\w-]+|\\[A-Za-z]+|~?/[A-Za-z_.][\w.-]*(?:/[\w.-]+)*)(?!\w)"
)
"""Codes, part numbers, options, directives, and file paths (`/etc`, `~/.gpsbabel`): a path the quote does not
name is as invented as a number."""
