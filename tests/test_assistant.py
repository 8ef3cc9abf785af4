"""Grounded answers end to end with the real default model on a real manual, and the pieces they rest on."""

from __future__ import annotations

import json

import pytest

from fieldmind.assistant import NOT_FOUND_ANSWER, AnswerDone, AnswerPiece, Assistant, SourcesReady
from fieldmind.grounding import is_grounded, rank_citations, support
from fieldmind.knowledge.retrieve import Passage
from fieldmind.llm.prompts import could_become_not_found, says_not_found

from conftest import AMC_PDF, EVAL

QA = {row["id"]: row for row in map(json.loads, (EVAL / "qa.jsonl").read_text().splitlines())}


def _passage(text: str, page: int = 1) -> Passage:
    return Passage(1, "d", "manual.pdf", page, None, text, 1.0, 0.8)


def test_grounding_accepts_words_from_the_passages_and_refuses_invented_ones() -> None:
    passages = [_passage("--smtp-port port sets the port to use (default value is 25).")]
    question = "Which SMTP port is used by default?"
    assert support("The default SMTP port is 25.", question, passages) == 1.0
    assert is_grounded("The default SMTP port is 25.", question, passages)
    assert not is_grounded("It uses port 587 with STARTTLS.", question, passages)
    assert not is_grounded("The text does not say which port is used.", question, passages)
    assert not is_grounded("Yes.", question, passages)


def test_citations_put_the_passage_holding_the_answer_first() -> None:
    question = "Which SMTP port does mailing use?"
    passages = [
        _passage("auto-multiple-choice mailing sends the SMTP mail to students", 92),
        _passage("--smtp-port port sets the port to use (default value is 25).", 93),
    ]
    assert [p.page for p in rank_citations("It uses port 25.", question, passages)] == [93]
    assert [p.page for p in rank_citations("Unrelated words.", question, passages)] == [92]


def test_not_found_is_held_back_while_streaming() -> None:
    assert could_become_not_found("NOT")
    assert could_become_not_found(" NOT FOU")
    assert not could_become_not_found("No, the pump")
    assert says_not_found("NOT FOUND.") and not says_not_found("Not the filter.")


@pytest.fixture(scope="module")
def assistant(amc_index, embedder, default_engine):  # type: ignore[no-untyped-def]
    from fieldmind.knowledge.index import KnowledgeBase

    kb = KnowledgeBase(amc_index, embedder=embedder)
    yield Assistant(kb, default_engine, answer_k=3)
    kb.close()


@pytest.mark.model
@pytest.mark.parametrize("qid", ["A01", "A07", "A17", "A27"])
def test_answers_hold_the_key_fact_and_cite_its_page(assistant, qid: str) -> None:  # type: ignore[no-untyped-def]
    item = QA[qid]
    answer = assistant.ask(item["question"])
    assert answer.found, answer.attempt
    squashed = "".join(answer.text.split()).lower()
    assert all("".join(k.split()).lower() in squashed for k in item["key"]), answer.text
    assert item["page"] in [c.page for c in answer.citations]
    assert all(c.doc == AMC_PDF.name for c in answer.citations)
    assert answer.timings.tokens > 0 and answer.timings.first_token_ms


@pytest.mark.model
@pytest.mark.parametrize("qid", ["A31", "A36", "A38"])
def test_unanswerable_questions_are_not_found(assistant, qid: str) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask(QA[qid]["question"])
    assert not answer.found
    assert answer.text == NOT_FOUND_ANSWER and answer.citations == []


@pytest.mark.model
def test_sources_come_before_the_first_word_and_stop_keeps_the_partial_answer(assistant) -> None:  # type: ignore[no-untyped-def]
    events = []
    stream = assistant.ask_stream(QA["A17"]["question"], stop=lambda: len(events) >= 4)
    for event in stream:
        events.append(event)
    assert isinstance(events[0], SourcesReady) and len(events[0].passages) == 3
    assert isinstance(events[1], AnswerPiece)
    done = events[-1]
    assert isinstance(done, AnswerDone) and done.answer.stopped
    assert done.answer.timings.tokens <= 4
    assert done.answer.text and done.answer.text in done.answer.attempt
