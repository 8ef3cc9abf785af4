"""Evidence-first answers end to end with the real default model on a real manual: the quote first, then a
short answer that is shown only when its facts are in the quote."""

from __future__ import annotations

import json

import pytest

from fieldmind.answers.check import facts_supported
from fieldmind.answers.quote import QUOTE_WORDS
from fieldmind.assistant import NOT_FOUND_ANSWER, AnswerDone, AnswerPiece, Assistant, QuoteReady, SourcesReady

from conftest import AMC_PDF, EVAL

QA = {row["id"]: row for row in map(json.loads, (EVAL / "qa.jsonl").read_text().splitlines())}


def _squash(text: str) -> str:
    return "".join(text.split()).lower()


@pytest.fixture(scope="module")
def assistant(amc_index, embedder, default_engine):  # type: ignore[no-untyped-def]
    from fieldmind.knowledge.index import KnowledgeBase

    kb = KnowledgeBase(amc_index, embedder=embedder)
    yield Assistant(kb, default_engine)
    kb.close()


@pytest.mark.model
@pytest.mark.parametrize("qid", ["A13", "A24", "A25", "A27"])
def test_the_answer_quotes_the_page_that_holds_the_key_fact(assistant, qid: str) -> None:  # type: ignore[no-untyped-def]
    item = QA[qid]
    answer = assistant.ask(item["question"])
    assert answer.found and answer.quote is not None, answer.closest
    assert all(_squash(k) in _squash(answer.quote.shown()) for k in item["key"]), answer.quote.text
    assert answer.quote.doc == AMC_PDF.name and answer.quote.page == item["page"]
    assert len(answer.quote.text.split()) <= QUOTE_WORDS  # an answer, not a passage
    page = assistant.knowledge.context(answer.citations[0]).text
    assert page[answer.quote.start : answer.quote.end] == answer.quote.text  # verbatim, at its offsets
    assert answer.citations[0].page == item["page"]
    if answer.short_answer is not None:  # the model's wording is shown only with the quote's facts
        assert facts_supported(answer.short_answer, answer.quote.shown())
        assert answer.text == answer.short_answer
    else:
        assert answer.text == answer.quote.shown()
    data = answer.to_json()
    assert data["quote"]["text"] == answer.quote.text and data["quote"]["doc_id"] == answer.quote.doc_id
    assert data["engine"] == "local" and data["timings"]["quote_ms"] > 0


@pytest.mark.model
@pytest.mark.parametrize("qid", ["A31", "A36", "A38"])
def test_unanswerable_questions_are_not_found(assistant, qid: str) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask(QA[qid]["question"])
    assert not answer.found and answer.quote is None and answer.short_answer is None
    assert answer.text == NOT_FOUND_ANSWER and answer.citations == []
    assert answer.passages  # the closest passages are still there to read
    assert answer.to_json()["quote"] is None


@pytest.mark.model
def test_sources_then_quote_then_short_answer_and_stop_keeps_the_quote(assistant) -> None:  # type: ignore[no-untyped-def]
    events = list(assistant.ask_stream(QA["A25"]["question"]))
    assert isinstance(events[0], SourcesReady) and len(events[0].passages) == 5
    assert isinstance(events[1], QuoteReady) and events[1].quote is not None
    assert isinstance(events[-1], AnswerDone)
    done = events[-1].answer
    assert done.timings.quote_ms is not None and done.timings.quote_ms <= done.timings.total_ms
    assert done.timings.tokens > 0 and done.attempt  # the model was asked for a short answer
    assert [e.text for e in events if isinstance(e, AnswerPiece)] == ([done.short_answer] if done.short_answer else [])

    stopped = [e for e in assistant.ask_stream(QA["A25"]["question"], stop=lambda: True)][-1].answer
    assert stopped.found and stopped.quote is not None and stopped.short_answer is None


def test_the_short_answer_is_refused_when_it_adds_a_number_or_says_nothing_new(embedder, amc_index) -> None:  # type: ignore[no-untyped-def]
    """A scripted model (named as a fake) that invents a port: the quote stands alone."""
    from fakes import FakeScriptedEngine
    from fieldmind.knowledge.index import KnowledgeBase

    kb = KnowledgeBase(amc_index, embedder=embedder)
    try:
        inventing = Assistant(kb, FakeScriptedEngine(["It uses ", "port 587."]))
        answer = inventing.ask(QA["A27"]["question"])
        assert answer.found and answer.short_answer is None and answer.attempt == "It uses port 587."
        assert "587" not in answer.text and "25" in answer.quote.text  # type: ignore[union-attr]
        faithful = Assistant(kb, FakeScriptedEngine(["Port ", "25."]))
        assert faithful.ask(QA["A27"]["question"]).short_answer == "Port 25."
        echoing = Assistant(kb, FakeScriptedEngine(["It uses the SMTP port ", "given by --smtp-port."]))
        echoed = echoing.ask(QA["A27"]["question"])  # says nothing the question did not: the quote stands alone
        assert echoed.found and echoed.short_answer is None and echoed.attempt.startswith("It uses the SMTP port")
    finally:
        kb.close()
