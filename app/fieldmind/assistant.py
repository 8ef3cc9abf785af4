"""The one question-answering pipeline every interface uses: question → passages → grounded answer.

The app, not the model, picks the citations: they are the passages the model was given, ordered by how
much of the answer each one supports. When retrieval finds nothing close enough, or the answer is not
grounded in the passages (see grounding.py), `found` is false and the answer says so plainly.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fieldmind.grounding import is_grounded, rank_citations
from fieldmind.knowledge.index import KnowledgeBase
from fieldmind.knowledge.retrieve import Passage
from fieldmind.llm.engine import Engine
from fieldmind.llm.prompts import could_become_not_found, says_not_found

NOT_FOUND_ANSWER = "Not found in your documents."
MIN_SCORE = 0.45
"""Below this retrieval score no passage is about the question; the model is not even asked.
(On the eval set every answerable question scored 0.63 or more.)"""


@dataclass
class Timings:
    retrieve_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        generate_s = (self.total_ms - (self.first_token_ms or self.total_ms)) / 1000
        rate = (self.tokens - 1) / generate_s if self.tokens > 1 and generate_s > 0 else 0.0
        return {
            "retrieve_ms": round(self.retrieve_ms, 1),
            "first_token_ms": round(self.first_token_ms, 1) if self.first_token_ms is not None else None,
            "total_ms": round(self.total_ms, 1),
            "tokens": self.tokens,
            "tokens_per_s": round(rate, 1),
        }


@dataclass
class Answer:
    """A finished (or stopped) answer with the passages it rests on."""

    question: str
    text: str = ""
    found: bool = False
    passages: list[Passage] = field(default_factory=list)
    citations: list[Passage] = field(default_factory=list)
    model: str = ""
    stopped: bool = False
    attempt: str = ""
    """What the model wrote, even when it was not grounded and the answer became "not found"."""
    timings: Timings = field(default_factory=Timings)

    def to_json(self) -> dict[str, Any]:
        data = {
            "answer": self.text,
            "found": self.found,
            "citations": [p.citation() for p in self.citations],
            "model": self.model,
            "timings": self.timings.to_json(),
        }
        if self.stopped:
            data["stopped"] = True
        return data


@dataclass(frozen=True)
class SourcesReady:
    """Retrieval is done: the passages can be shown before the model's first word."""

    passages: list[Passage]


@dataclass(frozen=True)
class AnswerPiece:
    """More answer text."""

    text: str


@dataclass(frozen=True)
class AnswerDone:
    answer: Answer


AnswerEvent = SourcesReady | AnswerPiece | AnswerDone


class Assistant:
    """Answers questions from the knowledge base with a loaded model."""

    def __init__(self, knowledge: KnowledgeBase, engine: Engine, answer_k: int = 3, max_tokens: int = 200):
        self.knowledge = knowledge
        self.engine = engine
        self.answer_k = answer_k
        self.max_tokens = max_tokens

    def ask(self, question: str, k: int | None = None) -> Answer:
        for event in self.ask_stream(question, k):
            if isinstance(event, AnswerDone):
                return event.answer
        raise AssertionError("ask_stream ended without an answer")

    def ask_stream(
        self, question: str, k: int | None = None, stop: Callable[[], bool] = lambda: False
    ) -> Iterator[AnswerEvent]:
        """Sources first, then answer pieces as the model writes them, then the finished answer.

        Text that may still become NOT FOUND is held back, so a not-found answer never flickers on screen.
        """
        started = time.perf_counter()
        answer = Answer(question=question, model=self.engine.model.name)
        passages = self.knowledge.search(question, k or self.answer_k)
        answer.timings.retrieve_ms = (time.perf_counter() - started) * 1000
        answer.passages = passages
        yield SourcesReady(passages)

        if not passages or passages[0].score < MIN_SCORE:
            answer.text = NOT_FOUND_ANSWER
            answer.timings.total_ms = (time.perf_counter() - started) * 1000
            yield AnswerDone(answer)
            return

        generated = ""
        shown = 0
        pieces = self.engine.answer_stream(question, passages, self.max_tokens)
        try:
            for piece in pieces:
                if answer.timings.first_token_ms is None:
                    answer.timings.first_token_ms = (time.perf_counter() - started) * 1000
                answer.timings.tokens += 1
                generated += piece
                if not could_become_not_found(generated):
                    yield AnswerPiece(generated[shown:] if shown else generated.lstrip())
                    shown = len(generated)
                if stop():
                    answer.stopped = True
                    break
        finally:
            pieces.close()
            # llama-cpp-python makes a ctypes array type per call; those sit in reference cycles holding buffers
            # that only a full collection frees (measured: +60 to +108 MB over 200 answers without this; ~25 ms).
            gc.collect()
        answer.timings.total_ms = (time.perf_counter() - started) * 1000

        text = generated.strip()
        answer.attempt = text
        if answer.stopped:  # the user stopped it: keep what was written, marked stopped
            answer.text = text
            answer.found = bool(text) and is_grounded(text, question, passages)
            answer.citations = rank_citations(text, question, passages) if answer.found else []
        elif says_not_found(text) or not is_grounded(text, question, passages):
            answer.text = NOT_FOUND_ANSWER
            answer.found = False
        else:
            answer.text = text
            answer.found = True
            answer.citations = rank_citations(text, question, passages)
        yield AnswerDone(answer)
