"""The optional short answer: the model rewords the quote it is given, and nothing else.

Small models write facts badly and reword well, so the model sees only the question and the quote (a tiny
prompt: fast) and its answer is shown only when every number, unit and identifier in it is in the quote and
it says what the quote says (`check.faithful`). The system prompt is a fixed prefix, so llama.cpp reuses its
KV cache across questions.
"""

from __future__ import annotations

import re
from collections import Counter

from fieldmind.llm.prompts import Prompt

SYSTEM_PROMPT = "You are a helpful assistant."
INSTRUCTION = "Answer the question in a few words, using only the text."
MAX_WORDS = 30
"""A longer "short" answer is not one: the quote stands alone."""
_REFUSAL = re.compile(
    r"\b(?:text|manual|document|passage)s? (?:does|do) not\b|\bnot (?:mentioned|specified|provided|stated|given|"
    r"found)\b|\bno information\b|\bcannot (?:be )?(?:determine|answer|found)|\bNOT FOUND\b|\bunknown\b",
    re.IGNORECASE,
)
_REPEATS = re.compile(r"(\S)\1{5,}|(\b\w+\b)(?:\W+\2\b){3,}")
_WORDS = re.compile(r"\w+")
REPEATED_PHRASE = 3
"""A run of two to six words said this many times is a model looping ("60 seconds Answer: 60 seconds Answer: …",
"Hello, world Hello, world …"), not an answer: the base model (Gemma 270M) wrote 12 such short answers over the
six sets' 72 quotes that the facts check let through; the default model none."""


def prompt(question: str, quote: str) -> Prompt:
    user = f"Text: {quote.strip()}\n\nQuestion: {question.strip()}\n{INSTRUCTION}"
    return Prompt(
        messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}],
        completion=f"{user}\nAnswer:",
        stops=["\n\n", "\nQuestion:", "\nText:", "\nAnswer:", " Answer:"],
    )


def loops(answer: str) -> bool:
    """Whether some phrase of two to six words comes back REPEATED_PHRASE times or more."""
    words = [w.casefold() for w in _WORDS.findall(answer)]
    for size in range(2, 7):
        phrases = Counter(tuple(words[i : i + size]) for i in range(len(words) - size + 1))
        if phrases and max(phrases.values()) >= REPEATED_PHRASE:
            return True
    return False


def acceptable(answer: str) -> bool:
    """Short, not a refusal, not degenerate ("fontttttt…", "[1] [1] [1]", a phrase said over and over)."""
    words = answer.split()
    return (
        0 < len(words) <= MAX_WORDS
        and not _REFUSAL.search(answer)
        and not _REPEATS.search(answer)
        and not loops(answer)
    )
