"""Prompts that keep a small model to the passages it is given.

Measured on the 0.5B model over the eval questions: told to reply NOT FOUND when the text lacks the answer,
it replies NOT FOUND to nearly everything (even with the answer in front of it); told to cite "[1]" it
repeats "[1] [1] …"; asked for the exact words of the text, it answers best (13 of 30 key facts, against
9 when asked for "one short sentence"). So the prompt only asks for the text's own words; whether the
answer is grounded is decided by the app (see `assistant.grounding`), and the app attaches citations.
The system prompt is a fixed prefix, so llama.cpp reuses its KV cache from one question to the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

NOT_FOUND = "NOT FOUND"

SYSTEM_PROMPT = "You are a helpful assistant."
INSTRUCTION = "Answer with the exact words from the text, in one or two sentences."


class PromptPassage(Protocol):
    """What a prompt needs of a passage."""

    text: str


def _excerpts(passages: Sequence[PromptPassage]) -> str:
    return "\n\n".join(passage.text.strip() for passage in passages)


def user_message(question: str, passages: Sequence[PromptPassage]) -> str:
    return f"Text:\n{_excerpts(passages)}\n\nQuestion: {question.strip()}\n{INSTRUCTION}"


def chat_messages(question: str, passages: Sequence[PromptPassage]) -> list[dict[str, str]]:
    """Messages for an instruction-tuned model with a chat template."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_message(question, passages)},
    ]


def completion_prompt(question: str, passages: Sequence[PromptPassage]) -> str:
    """A plain prompt for a base model without a chat template."""
    return f"{user_message(question, passages)}\nAnswer:"


COMPLETION_STOPS = ["\n\n", "\nQuestion:", "\nText:"]


def says_not_found(text: str) -> bool:
    """The model's own way of saying the passages do not hold the answer."""
    cleaned = text.strip().strip(".").upper()
    return cleaned.startswith(NOT_FOUND) or cleaned == "NOT_FOUND"


def could_become_not_found(text: str) -> bool:
    """True while the text so far may still turn into NOT FOUND, so streaming should hold it back."""
    cleaned = text.lstrip().upper()
    return NOT_FOUND.startswith(cleaned) or cleaned.startswith(NOT_FOUND)
