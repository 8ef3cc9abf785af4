"""The one question-answering pipeline every interface uses: question → passages → quote → short answer.

Evidence first: the app finds the sentence, list item or table row of the manual that answers
(`answers/choose.py`) and shows it word for word with its page (`answers/quote.py`). Only then may the model
reword it, from the quote alone, and that short answer is shown only when every fact in it is in the quote
and it says what the quote says (`answers/check.py`). When no unit scores high enough the answer is "Not
found in your documents" and the closest passages are still shown. The model never chooses or writes the facts.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from fieldmind.answers import choose, short, terms
from fieldmind.answers.check import faithful
from fieldmind.answers.quote import Quote, closest_lines, differing, lost_by_ocr, select
from fieldmind.answers.reader import Reader, ReaderError
from fieldmind.knowledge.context import PageContext
from fieldmind.knowledge.retrieve import Passage
from fieldmind.knowledge.revisions import Scope
from fieldmind.llm.fallback import EngineSwitchedError
from fieldmind.llm.prompts import Prompt

if TYPE_CHECKING:
    from fieldmind.knowledge.embedder import Vectors

NOT_FOUND_ANSWER = "Not found in your documents."
SHORT_ANSWER_TOKENS = 48


class Knowledge(Protocol):
    """What answering needs of the knowledge base."""

    def search(
        self, question: str, k: int | None = None, scope: Scope | None = None, all_revisions: bool = False
    ) -> list[Passage]: ...
    def context(self, passage: Passage) -> PageContext: ...
    def next_page(self, passage: Passage) -> str | None: ...
    def encode(self, texts: list[str]) -> Vectors: ...
    def question_vector(self, question: str) -> Vectors: ...
    def absent_terms(self, terms: list[str]) -> list[str]: ...


class TextGenerator(Protocol):
    """What answering needs of a language model engine."""

    @property
    def name(self) -> str: ...
    @property
    def backend(self) -> str:
        """ "local" (this machine's model) or "server" (a site's inference server): which would answer now."""
        ...

    @property
    def wrote(self) -> tuple[str, str]:
        """(name, backend) of the engine that wrote the latest answer (a site server may be back since)."""
        ...

    def stream(self, prompt: Prompt, max_tokens: int) -> Generator[str, None, None]: ...


@dataclass
class Timings:
    retrieve_ms: float = 0.0
    quote_ms: float | None = None
    """Question to the quote (or "not found") ready to show."""
    first_token_ms: float | None = None
    total_ms: float = 0.0
    tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        generate_s = (self.total_ms - (self.first_token_ms or self.total_ms)) / 1000
        rate = (self.tokens - 1) / generate_s if self.tokens > 1 and generate_s > 0 else 0.0
        return {
            "retrieve_ms": round(self.retrieve_ms, 1),
            "quote_ms": round(self.quote_ms, 1) if self.quote_ms is not None else None,
            "first_token_ms": round(self.first_token_ms, 1) if self.first_token_ms is not None else None,
            "total_ms": round(self.total_ms, 1),
            "tokens": self.tokens,
            "tokens_per_s": round(rate, 1),
        }


@dataclass
class Answer:
    """A finished (or stopped) answer: the quotes it rests on, the passages around them, the short answer."""

    question: str
    text: str = ""
    """What is shown as the answer: the short answer when accepted, else the quoted text."""
    found: bool = False
    passages: list[Passage] = field(default_factory=list)
    citations: list[Passage] = field(default_factory=list)
    quote: Quote | None = None
    closest: Quote | None = None
    """When not found: the stretch that came closest, shown as such (never as the answer)."""
    differing: list[Quote] = field(default_factory=list)
    """Asked with no scope: what documents for other assets (other tags) say, where it differs from the quote."""
    scope: str = ""
    """The scope the answer was limited to ("" for all documents)."""
    confidence: float = 0.0
    """How sure the app is that the quote answers (see answers/choose.py); compared with a fitted threshold."""
    short_answer: str | None = None
    model: str = ""
    engine: str = "local"
    """Which engine wrote the short answer (or would have): "local", or "server" (a site's inference server)."""
    stopped: bool = False
    attempt: str = ""
    """What the model wrote for the short answer, even when it was not accepted."""
    timings: Timings = field(default_factory=Timings)

    def shown(self) -> str:
        """Everything shown as the answer: the accepted short answer and the quote."""
        parts = [self.short_answer or "", self.quote.shown() if self.quote else ""]
        return "\n".join(p for p in parts if p) or self.text

    def to_json(self) -> dict[str, Any]:
        data = {
            "answer": self.text,
            "found": self.found,
            "quote": self.quote.to_json() if self.quote else None,
            "closest": self.closest.to_json() if self.closest else None,
            "differing": [q.to_json() for q in self.differing],
            "scope": self.scope or None,
            "confidence": self.confidence,
            "short_answer": self.short_answer,
            "citations": [p.citation() for p in self.citations],
            "model": self.model,
            "engine": self.engine,
            "timings": self.timings.to_json(),
        }
        if self.stopped:
            data["stopped"] = True
        return data


@dataclass(frozen=True)
class SourcesReady:
    """Retrieval is done: the passages can be shown at once."""

    passages: list[Passage]


@dataclass(frozen=True)
class QuoteReady:
    """The evidence is chosen: the quote (None: not found) can be shown before the model runs."""

    quote: Quote | None
    closest: Quote | None = None
    """When not found: the closest lines, to show as such."""


@dataclass(frozen=True)
class AnswerPiece:
    """The accepted short answer."""

    text: str


@dataclass(frozen=True)
class AnswerDone:
    answer: Answer


AnswerEvent = SourcesReady | QuoteReady | AnswerPiece | AnswerDone


def cited_passages(quote: Quote | None, passages: list[Passage]) -> list[Passage]:
    """The retrieved passages on the quote's page (or in its section), best first: what the answer cites."""
    if quote is None:
        return []
    return [
        p
        for p in passages
        if p.doc_id == quote.doc_id and p.page == quote.page and (quote.page is not None or p.section == quote.section)
    ]


class Assistant:
    """Answers questions from the knowledge base; the engine only rewords the chosen quote."""

    def __init__(
        self,
        knowledge: Knowledge,
        engine: TextGenerator | None,
        answer_k: int = 5,
        short_answers: bool = True,
        weights: choose.Weights | None = None,
        reader: Reader | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.engine = engine
        self.answer_k = answer_k
        self.short_answers = short_answers and engine is not None
        self.reader = reader
        """Fieldmind's own reader; None, or one whose file failed its check, leaves the hand-weighted scores."""
        self.fixed_weights = weights

    @property
    def reading(self) -> bool:
        """Whether the reader scores the stretches (it is there, and its file passed its check)."""
        if self.reader is None or self.reader.error is not None:
            return False
        try:
            self.reader.load()
        except ReaderError:
            return False
        return True

    @property
    def weights(self) -> choose.Weights:
        return self.fixed_weights or choose.weights_for(self.reading)

    def ask(
        self, question: str, k: int | None = None, scope: Scope | None = None, all_revisions: bool = False
    ) -> Answer:
        for event in self.ask_stream(question, k, scope=scope, all_revisions=all_revisions):
            if isinstance(event, AnswerDone):
                return event.answer
        raise AssertionError("ask_stream ended without an answer")

    def evidence(self, question: str, passages: list[Passage]) -> list[choose.Window]:
        """Stretches of the retrieved pages, scored, best first."""
        candidates = choose.gather(passages, self.knowledge.context)
        question_vector = self.knowledge.question_vector(question)
        read = self.reader.scores if self.reader is not None and self.reading else None
        return choose.score(question, question_vector, candidates, self.knowledge.encode, self.weights, read)

    def ask_stream(
        self,
        question: str,
        k: int | None = None,
        stop: Callable[[], bool] = lambda: False,
        scope: Scope | None = None,
        all_revisions: bool = False,
    ) -> Iterator[AnswerEvent]:
        """Sources, then the quote (or not found), then the short answer if one is accepted, then the answer.

        Only current revisions answer unless `all_revisions`; `scope` limits the documents (plus general ones).
        """
        started = time.perf_counter()
        answer = Answer(question=question, model=self.engine.name if self.engine else "")
        answer.scope = scope.label() if scope else ""
        passages = self.knowledge.search(question, k or self.answer_k, scope=scope, all_revisions=all_revisions)
        answer.timings.retrieve_ms = (time.perf_counter() - started) * 1000
        answer.passages = passages
        yield SourcesReady(passages)

        ranked = self.evidence(question, passages) if passages else []
        absent = self.knowledge.absent_terms(terms.topic_terms(question)) if ranked else []
        sure = choose.confidence(ranked, len(absent), self.weights)
        answer.quote = select(ranked, sure, self.weights, self.knowledge.next_page)
        answer.closest = closest_lines(ranked, sure, self.weights, self.knowledge.next_page)
        if answer.quote is not None and lost_by_ocr(answer.quote, question):
            answer.quote, answer.closest = None, answer.quote
        answer.confidence = round(sure, 3)
        answer.found = answer.quote is not None
        answer.citations = cited_passages(answer.quote, passages)
        if answer.quote is not None and not scope:
            answer.differing = differing(ranked, self.weights)
            shown = {(p.doc_id, p.page) for p in answer.citations}
            answer.citations += [
                p for q in answer.differing for p in cited_passages(q, passages) if (p.doc_id, p.page) not in shown
            ]
        answer.text = answer.quote.shown() if answer.quote else NOT_FOUND_ANSWER
        answer.timings.quote_ms = (time.perf_counter() - started) * 1000
        yield QuoteReady(answer.quote, answer.closest)

        if self.engine is not None:
            answer.model, answer.engine = self.engine.name, self.engine.backend  # which would write
            if answer.found and self.short_answers and not stop():
                accepted = self._short_answer(question, answer, started, stop)
                answer.model, answer.engine = self.engine.wrote  # which did
                if accepted:
                    answer.short_answer = accepted
                    answer.text = accepted
                    yield AnswerPiece(accepted)
        answer.timings.total_ms = (time.perf_counter() - started) * 1000
        yield AnswerDone(answer)

    def _short_answer(self, question: str, answer: Answer, started: float, stop: Callable[[], bool]) -> str | None:
        """The model's rewording of the quotes, or None when it says what they do not (`check.faithful`), or is
        stopped."""
        assert self.engine is not None
        assert answer.quote is not None
        quoted = answer.quote.shown()
        try:
            written = self._write(short.prompt(question, quoted), answer, started, stop)
        except EngineSwitchedError:  # the site's server dropped it half-written: the local model writes it afresh
            answer.timings.first_token_ms, answer.timings.tokens = None, 0
            written = self._write(short.prompt(question, quoted), answer, started, stop)
        written = " ".join(written.split())
        answer.attempt = written
        if answer.stopped or not short.acceptable(written) or not faithful(written, quoted, question):
            return None
        return written

    def _write(self, prompt: Prompt, answer: Answer, started: float, stop: Callable[[], bool]) -> str:
        """What the engine writes for `prompt`, timed into `answer`; stops early when asked."""
        assert self.engine is not None
        written = ""
        pieces = self.engine.stream(prompt, SHORT_ANSWER_TOKENS)
        try:
            for piece in pieces:
                if answer.timings.first_token_ms is None:
                    answer.timings.first_token_ms = (time.perf_counter() - started) * 1000
                answer.timings.tokens += 1
                written += piece
                if stop():
                    answer.stopped = True
                    break
        finally:
            pieces.close()
            # llama-cpp-python makes a ctypes array type per call; those sit in reference cycles holding buffers
            # that only a full collection frees (measured: +60 to +108 MB over 200 answers without this; ~25 ms).
            gc.collect()
        return written
