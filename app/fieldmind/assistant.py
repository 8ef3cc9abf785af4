"""The one question-answering pipeline every interface uses: question → passages → grounded answer.

The app, not the model, picks the citations: they are the passages the model was given, ordered by how
much of the answer each one supports. When retrieval finds nothing close enough, or the model says the
passages do not hold the answer, `found` is false and the answer says so plainly.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fieldmind.knowledge.index import KnowledgeBase
from fieldmind.knowledge.retrieve import Passage
from fieldmind.llm.engine import Engine
from fieldmind.llm.prompts import could_become_not_found, says_not_found

NOT_FOUND_ANSWER = "Not found in your documents."
MIN_SIMILARITY = 0.2
"""Below this cosine similarity no passage is about the question; the model is not even asked."""
_WORD = re.compile(r"\w+")


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


def rank_citations(answer: str, passages: list[Passage]) -> list[Passage]:
    """The given passages that share content words with the answer, most supporting first.

    When none shares a word (a paraphrased answer), the best-retrieved passage is the citation.
    """
    answer_words = {w.lower() for w in _WORD.findall(answer) if len(w) > 2 or w.isdigit()}
    scored = []
    for order, passage in enumerate(passages):
        passage_words = {w.lower() for w in _WORD.findall(passage.text)}
        overlap = len(answer_words & passage_words)
        scored.append((overlap, -order, passage))
    supporting = [p for overlap, _, p in sorted(scored, key=lambda s: (s[0], s[1]), reverse=True) if overlap]
    return supporting or passages[:1]


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

        best = max((p.similarity or 0.0 for p in passages), default=0.0)
        if not passages or best < MIN_SIMILARITY:
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
        answer.timings.total_ms = (time.perf_counter() - started) * 1000

        text = generated.strip()
        if says_not_found(text) or not text:
            answer.text = NOT_FOUND_ANSWER
            answer.found = False
        else:
            answer.text = text
            answer.found = True
            answer.citations = rank_citations(text, passages)
        yield AnswerDone(answer)
