"""What the engine is given to run: one prompt in both forms, for chat models and for base models.

The prompts themselves live with what uses them (the short answer: `answers/short.py`); the engine picks the
chat form when the model has a chat template and the plain completion form otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Prompt:
    messages: list[dict[str, str]]
    """For an instruction-tuned model with a chat template."""
    completion: str
    """The same request as plain text, for a base model."""
    stops: list[str] = field(default_factory=list)
    """Where a base model's completion ends."""
