"""Prompts that keep a small model to the passages it is given.

Measured on the 0.5B model: asked to cite "[1]" it repeats "[1] [1] …"; asked to answer only from the text
or say NOT FOUND, it does. So the prompt is plain, the app attaches citations itself, and the system
prompt is a fixed prefix so llama.cpp reuses its KV cache from one question to the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

NOT_FOUND = "NOT FOUND"

SYSTEM_PROMPT = (
    "You are Fieldmind, an assistant for technicians. You answer questions using only the manual "
    "excerpts the user gives you. Answer in one or two short sentences, with the exact values, names and "
    f"commands from the excerpts. If the excerpts do not contain the answer, reply only: {NOT_FOUND}"
)


class PromptPassage(Protocol):
    """What a prompt needs of a passage."""

    text: str
    doc: str
    page: int | None


def _excerpts(passages: Sequence[PromptPassage]) -> str:
    blocks = []
    for passage in passages:
        where = f"{passage.doc}, page {passage.page}" if passage.page else passage.doc
        blocks.append(f"Excerpt from {where}:\n{passage.text.strip()}")
    return "\n\n".join(blocks)


def chat_messages(question: str, passages: Sequence[PromptPassage]) -> list[dict[str, str]]:
    """Messages for an instruction-tuned model with a chat template."""
    user = (
        f"{_excerpts(passages)}\n\n"
        f"Question: {question.strip()}\n"
        f"Answer briefly, using only the excerpts above. If they do not answer it, reply {NOT_FOUND}."
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def completion_prompt(question: str, passages: Sequence[PromptPassage]) -> str:
    """A plain prompt for a base model without a chat template."""
    return f"{SYSTEM_PROMPT}\n\n{_excerpts(passages)}\n\nQuestion: {question.strip()}\nAnswer:"


COMPLETION_STOPS = ["\n\n", "\nQuestion:", "Excerpt from"]


def says_not_found(text: str) -> bool:
    """The model's way of saying the passages do not hold the answer."""
    cleaned = text.strip().strip(".").upper()
    return cleaned.startswith(NOT_FOUND) or cleaned == "NOT_FOUND"


def could_become_not_found(text: str) -> bool:
    """True while the text so far may still turn into NOT FOUND, so streaming should hold it back."""
    cleaned = text.lstrip().upper()
    return NOT_FOUND.startswith(cleaned) or cleaned.startswith(NOT_FOUND)
